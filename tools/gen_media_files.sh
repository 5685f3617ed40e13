#!/usr/bin/env bash
# Makes the small test media of Tests/OmniMediaTests/Fixtures/media with the ffmpeg command line from lavfi
# sources (run once; the files are committed). Needs Debian's `ffmpeg`. Deterministic flags (-bitexact, fixed
# seeds); encoders may still differ between machines, so rerun tools/gen_media_fixtures.py after a rerun.
set -euo pipefail
out="$(cd "$(dirname "$0")/.." && pwd)/Tests/OmniMediaTests/Fixtures/media"
mkdir -p "$out"
cd "$out"
ff() { ffmpeg -v error -y -nostdin "$@"; }
be=(-fflags +bitexact -flags:v +bitexact -flags:a +bitexact)

# Videos: several sizes (incl. odd 333x197), frame rates, codecs, with and without audio.
ff -f lavfi -i "testsrc2=size=320x240:rate=30" -f lavfi -i "sine=frequency=440:sample_rate=44100" -t 4 \
   -c:v libx264 -preset veryfast -crf 30 -pix_fmt yuv420p -c:a aac -b:a 48k -ac 2 "${be[@]}" h264_320x240_30fps_aac_stereo.mp4
ff -f lavfi -i "testsrc2=size=333x197:rate=24" -t 3 -c:v libvpx-vp9 -b:v 150k -deadline realtime -cpu-used 8 \
   "${be[@]}" vp9_333x197_24fps_noaudio.webm
ff -f lavfi -i "testsrc2=size=256x144:rate=30000/1001" -f lavfi -i "anoisesrc=color=pink:sample_rate=22050:seed=7:amplitude=0.3" \
   -t 3 -c:v mpeg4 -q:v 8 -c:a libmp3lame -b:a 64k -ac 1 "${be[@]}" mpeg4_256x144_2997fps_mp3_mono.avi
ff -f lavfi -i "testsrc2=size=480x270:rate=25" -f lavfi -i "sine=frequency=300:sample_rate=48000" -t 5 \
   -c:v libx264 -preset veryfast -crf 32 -g 30 -bf 2 -pix_fmt yuv420p -c:a libopus -b:a 32k -ac 2 "${be[@]}" h264_480x270_25fps_opus.mkv
ff -f lavfi -i "testsrc2=size=200x360:rate=60" -f lavfi -i "sine=frequency=1000:sample_rate=48000" -t 2 \
   -c:v libx264 -preset veryfast -crf 34 -pix_fmt yuv420p -c:a aac -b:a 48k -ac 1 "${be[@]}" h264_200x360_60fps_aac_mono.mov
ff -f lavfi -i "testsrc2=size=320x180:rate=30" -t 1 -c:v libx264 -preset veryfast -crf 30 -pix_fmt yuv420p \
   "${be[@]}" h264_320x180_30fps_short.mp4

# A video with a single frame (too short to sample two): bad input.
ff -f lavfi -i "testsrc2=size=64x64:rate=30" -frames:v 1 -c:v libx264 -pix_fmt yuv420p "${be[@]}" one_frame.mp4

# Audio alone.
ff -f lavfi -i "sine=frequency=523:sample_rate=22050" -t 2.5 -ac 1 -c:a pcm_s16le "${be[@]}" tone_22050_mono.wav
ff -f lavfi -i "anoisesrc=color=white:sample_rate=44100:seed=3:amplitude=0.2" -t 1.5 -ac 2 -c:a flac "${be[@]}" noise_44100_stereo.flac
ff -f lavfi -i "sine=frequency=220:sample_rate=48000" -t 2 -ac 2 -c:a libvorbis -q:a 2 "${be[@]}" tone_48000_stereo.ogg
ff -f lavfi -i "sine=frequency=880:sample_rate=16000" -t 1.7 -ac 1 -c:a pcm_s16le "${be[@]}" tone_16000_mono.wav

# Images.
ff -f lavfi -i "testsrc2=size=333x197" -frames:v 1 "${be[@]}" picture_333x197.png
ff -f lavfi -i "testsrc2=size=640x480" -frames:v 1 -q:v 3 "${be[@]}" picture_640x480.jpg
ff -f lavfi -i "testsrc2=size=56x84" -frames:v 1 "${be[@]}" picture_56x84.png

ls -l "$out"
du -sh "$out"
