// Media decoding on FFmpeg 5.1's own libraries (libavformat, libavcodec, libswscale, libswresample, libavutil) and
// libsoxr, for OmniMedia.
//
// Neither is linked: the C file is compiled against the headers when the build machine has them (`__has_include`)
// and opens the exact shared libraries those headers describe (libavformat.so.59, ...) with `dlopen` on first use.
// A build without the -dev packages still succeeds, and every call then fails with a message that says what to
// install; a machine with the headers but not the libraries fails the same way at run time. Nothing here prints.
#ifndef CMEDIA_H
#define CMEDIA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Length of every error buffer the functions below fill.
#define CM_ERROR_CAPACITY 512

/// 1 when this build was compiled against the FFmpeg headers, else 0.
int cm_built_with_ffmpeg(void);

/// Loads FFmpeg's libraries once. 0 on success; otherwise -1 and a reason in `error`.
int cm_load_ffmpeg(char *error);

/// Loads libsoxr once. 0 on success; otherwise -1 and a reason in `error`.
int cm_load_soxr(char *error);

/// Library versions as loaded ("avformat 59.27.100, avcodec ..."), or an empty string before loading.
const char *cm_versions(void);

/// What a file holds, as FFmpeg reports it. Times are in seconds; unknown values are -1.
typedef struct {
    char format_name[64];
    double format_duration;      ///< the container's duration
    int stream_count;

    int video_stream;            ///< index of the best video stream, -1 when none
    char video_codec[32];
    int width, height;
    int64_t frames_from_header;  ///< the stream's nb_frames, -1 when the container does not store it
    double fps_from_header;      ///< the stream's avg_frame_rate, -1 when unknown
    double video_duration_from_header;
    int is_still_image;          ///< 1 for single-picture formats (png, jpeg, ...)

    int audio_stream;            ///< index of the best audio stream, -1 when none
    char audio_codec[32];
    int sample_rate, channels;
    double audio_duration_from_header;
} cm_info;

typedef struct cm_media cm_media;

/// Opens `path` (any container FFmpeg knows) and probes its streams. NULL and a reason on failure.
cm_media *cm_open(const char *path, char *error);

void cm_close(cm_media *media);

void cm_get_info(const cm_media *media, cm_info *info);

/// Scans the video stream's packets (no decoding) to index its frames, as torchcodec's exact mode does: the frame
/// count is the number of packets, frames are numbered in presentation order, `begin` is the smallest presentation
/// time and `end` the largest presentation time plus duration. 0 on success, -1 and a reason otherwise.
int cm_scan_video(cm_media *media, int64_t *frame_count, double *begin_seconds, double *end_seconds, char *error);

/// Decodes the frames with the given presentation-order indices (ascending, from `cm_scan_video`) to RGB24,
/// `count` frames of width·height·3 bytes each into `rgb`. It seeks to the key frame before a wanted frame when
/// that is ahead of the decoder, so only the needed groups of pictures are decoded. `progress` (may be NULL) is
/// called after each frame with (done, count, context). 0 on success, -1 and a reason otherwise.
int cm_decode_video_frames(cm_media *media, const int64_t *indices, int64_t count, uint8_t *rgb,
                           void (*progress)(int64_t, int64_t, void *), void *context, char *error);

/// Decodes the best audio stream to interleaved samples at the native rate and channel count: signed 16-bit
/// (`as_float` 0) as the `ffmpeg` command line does for `-f s16le` (libswresample's conversion, no dither, the
/// decoder's own priming and padding handling), or Float32 (`as_float` 1) as for `-f f32le`. `*samples`
/// (frames · channels values) is malloc'ed; free it with `cm_free`. 0 on success, -1 and a reason otherwise.
int cm_decode_audio(cm_media *media, int as_float, void **samples, int64_t *frames, int *channels, int *sample_rate,
                    char *error);

/// Decodes a still picture (or a video's first frame) to RGB24; `*rgb` is malloc'ed (free with `cm_free`).
int cm_decode_picture(cm_media *media, uint8_t **rgb, int *width, int *height, char *error);

void cm_free(void *pointer);

/// Resamples mono Float32 with libsoxr's "HQ" recipe in one shot (input, then flush), writing exactly
/// `output_length` samples (the caller passes ceil(input_length · out_rate / in_rate)). 0 or -1 and a reason.
int cm_soxr_resample(const float *input, size_t input_length, double in_rate, double out_rate, float *output,
                     size_t output_length, size_t *written, char *error);

#ifdef __cplusplus
}
#endif

#endif
