import Testing
@testable import omnisift

@Test func progressLineShowsPercentRateAndETA() {
    var m = ProgressMeter(label: "prefill", total: 1000, unit: "tok", startTime: 100)
    m.update(completed: 450)
    let line = m.line(now: 145, width: 120)  // 450 in 45 s: 10/s, 550 left: 55 s
    #expect(line.hasPrefix("prefill [" + String(repeating: "#", count: 13) + String(repeating: ".", count: 17) + "]"))
    #expect(line.contains(" 45%  450/1000 tok  10.0 tok/s  ETA 0:55"))
    #expect(m.rate(now: 145) == 10)
    #expect(m.eta(now: 145) == 55)
    // Narrow terminals: the bar shrinks, then goes, then the line is cut.
    #expect(m.line(now: 145, width: 60).count <= 60)
    #expect(!m.line(now: 145, width: 50).contains("["))
    #expect(m.line(now: 145, width: 20).count == 20)
    // Before the first unit there is no rate and no ETA.
    let fresh = ProgressMeter(label: "load", total: 10, startTime: 0)
    #expect(fresh.line(now: 1).contains("0%  0/10 it  - it/s  ETA -:--"))
}

@Test func progressCountsAreClampedAndUnknownTotalsWork() {
    var m = ProgressMeter(label: "x", total: 10, startTime: 0)
    m.update(completed: 50)
    #expect(m.completed == 10 && m.fraction == 1)
    m.update(completed: -3)
    #expect(m.completed == 0)
    var u = ProgressMeter(label: "scan", total: nil, unit: "files", startTime: 0)
    u.update(completed: 30)
    #expect(u.fraction == nil && u.eta(now: 10) == nil)
    #expect(u.line(now: 10) == "scan  30 files  3.00 files/s  0:10")
    #expect(u.summary(now: 10) == "scan  done 30 files in 10.0 s (3.00 files/s)")
    #expect(ProgressMeter(label: "e", total: 0, startTime: 0).fraction == 1)
}

@Test func durationAndRateFormats() {
    #expect(ProgressMeter.formatDuration(0) == "0:00")
    #expect(ProgressMeter.formatDuration(59.2) == "1:00")
    #expect(ProgressMeter.formatDuration(3725) == "1:02:05")
    #expect(ProgressMeter.formatDuration(-1) == "-:--")
    #expect(ProgressMeter.formatDuration(.infinity) == "-:--")
    #expect(ProgressMeter.formatRate(0.51234) == "0.512")
    #expect(ProgressMeter.formatRate(12.34) == "12.3")
    #expect(ProgressMeter.formatRate(456.4) == "456")
    #expect(ProgressMeter.formatRate(1234) == "1.23k")
    #expect(ProgressMeter.formatRate(4_560_000) == "4.56M")
    #expect(ProgressMeter.formatSeconds(12.34) == "12.3 s")
    #expect(ProgressMeter.formatSeconds(125) == "2:05")
}

@Test func barWidthStaysFixedWhileNumbersGrow() {
    var ends = Set<Int>()
    for (done, now) in [(1, 0.5), (9, 3.0), (99, 7.0), (999, 50.0), (1000, 51.0)] {
        var m = ProgressMeter(label: "bench", total: 1000, unit: "reps", startTime: 0)
        m.update(completed: done)
        let line = m.line(now: now, width: 80)
        #expect(line.count <= 80)
        ends.insert(line.distance(from: line.startIndex, to: line.firstIndex(of: "]")!))
    }
    #expect(ends.count == 1)
}
