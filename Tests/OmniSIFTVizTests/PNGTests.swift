import Foundation
import Testing
@testable import OmniSIFTViz

@Test func crcOfIENDIsTheKnownValue() {
    #expect(CRC32.checksum(Array("IEND".utf8)) == 0xAE42_6082)
}
