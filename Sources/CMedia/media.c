// See cmedia.h. FFmpeg and libsoxr are opened at run time; their headers are only needed to compile this file.
#include "cmedia.h"

#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void cm_set_error(char *error, const char *format, ...) {
    if (!error) return;
    va_list args;
    va_start(args, format);
    vsnprintf(error, CM_ERROR_CAPACITY, format, args);
    va_end(args);
}

void cm_free(void *pointer) { free(pointer); }

#define CM_INSTALL_HINT \
    "install FFmpeg's libraries (Debian/Ubuntu: scripts/setup.sh, or apt-get install libavformat-dev " \
    "libavcodec-dev libswscale-dev libswresample-dev libavutil-dev libsoxr-dev)"

// ---------------------------------------------------------------------------------------------------------------
// libsoxr
// ---------------------------------------------------------------------------------------------------------------
#if __has_include(<soxr.h>)
#include <soxr.h>
#define CM_HAVE_SOXR 1
static struct {
    __typeof__(&soxr_create) create;
    __typeof__(&soxr_process) process;
    __typeof__(&soxr_delete) delete_;
    __typeof__(&soxr_quality_spec) quality_spec;
    __typeof__(&soxr_io_spec) io_spec;
} sx;
#else
#define CM_HAVE_SOXR 0
#endif

static pthread_once_t soxr_once = PTHREAD_ONCE_INIT;
static char soxr_load_error[CM_ERROR_CAPACITY];
static int soxr_loaded = 0;

static void cm_load_soxr_once(void) {
#if CM_HAVE_SOXR
    void *lib = dlopen("libsoxr.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        cm_set_error(soxr_load_error, "cannot load libsoxr.so.0 (%s); %s", dlerror(), CM_INSTALL_HINT);
        return;
    }
#define CM_SOXR_SYM(field, name)                                                                    \
    if (!(*(void **)&sx.field = dlsym(lib, #name))) {                                               \
        cm_set_error(soxr_load_error, "libsoxr.so.0 lacks %s", #name);                                   \
        return;                                                                                     \
    }
    CM_SOXR_SYM(create, soxr_create)
    CM_SOXR_SYM(process, soxr_process)
    CM_SOXR_SYM(delete_, soxr_delete)
    CM_SOXR_SYM(quality_spec, soxr_quality_spec)
    CM_SOXR_SYM(io_spec, soxr_io_spec)
    soxr_loaded = 1;
#else
    cm_set_error(soxr_load_error, "this omnisift was built without libsoxr's header (soxr.h); %s, then rebuild",
                 CM_INSTALL_HINT);
#endif
}

int cm_load_soxr(char *error) {
    pthread_once(&soxr_once, cm_load_soxr_once);
    if (!soxr_loaded) {
        cm_set_error(error, "%s", soxr_load_error);
        return -1;
    }
    return 0;
}

int cm_soxr_resample(const float *input, size_t input_length, double in_rate, double out_rate, float *output,
                     size_t output_length, size_t *written, char *error) {
    *written = 0;
    if (cm_load_soxr(error) != 0) return -1;
#if CM_HAVE_SOXR
    soxr_error_t failure = NULL;
    soxr_io_spec_t io = sx.io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
    soxr_quality_spec_t quality = sx.quality_spec(SOXR_HQ, 0);
    soxr_t resampler = sx.create(in_rate, out_rate, 1, &failure, &io, &quality, NULL);
    if (!resampler || failure) {
        cm_set_error(error, "soxr_create(%g -> %g Hz) failed: %s", in_rate, out_rate, failure ? failure : "?");
        return -1;
    }
    size_t consumed = 0, used = 0, done = 0, total = 0;
    // soxr_process may take less input than offered: feed the rest until all of it is in, then flush.
    while (!failure && consumed < input_length && total < output_length) {
        failure = sx.process(resampler, input + consumed, input_length - consumed, &used, output + total,
                             output_length - total, &done);
        consumed += used;
        total += done;
        if (used == 0 && done == 0) break;
    }
    while (!failure && total < output_length) {
        failure = sx.process(resampler, NULL, 0, NULL, output + total, output_length - total, &done);
        if (done == 0) break;
        total += done;
    }
    sx.delete_(resampler);
    if (failure) {
        cm_set_error(error, "soxr_process failed: %s", failure);
        return -1;
    }
    *written = total;
    return 0;
#else
    (void)input; (void)input_length; (void)in_rate; (void)out_rate; (void)output; (void)output_length;
    return -1;
#endif
}

// ---------------------------------------------------------------------------------------------------------------
// FFmpeg
// ---------------------------------------------------------------------------------------------------------------
#if __has_include(<libavformat/avformat.h>) && __has_include(<libavcodec/avcodec.h>) && \
    __has_include(<libswscale/swscale.h>) && __has_include(<libswresample/swresample.h>)
#define CM_HAVE_FFMPEG 1
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>
#else
#define CM_HAVE_FFMPEG 0
#endif

int cm_built_with_ffmpeg(void) { return CM_HAVE_FFMPEG; }

static pthread_once_t ffmpeg_once = PTHREAD_ONCE_INIT;
static char ffmpeg_error[CM_ERROR_CAPACITY];
static char ffmpeg_versions[256];
static int ffmpeg_loaded = 0;

const char *cm_versions(void) { return ffmpeg_versions; }

#if CM_HAVE_FFMPEG
#define CM_STR2(x) #x
#define CM_STR(x) CM_STR2(x)

static struct {
    __typeof__(&avformat_open_input) avformat_open_input;
    __typeof__(&avformat_find_stream_info) avformat_find_stream_info;
    __typeof__(&avformat_close_input) avformat_close_input;
    __typeof__(&av_find_best_stream) av_find_best_stream;
    __typeof__(&av_read_frame) av_read_frame;
    __typeof__(&av_seek_frame) av_seek_frame;
    __typeof__(&avformat_version) avformat_version;
    __typeof__(&avcodec_find_decoder) avcodec_find_decoder;
    __typeof__(&avcodec_alloc_context3) avcodec_alloc_context3;
    __typeof__(&avcodec_free_context) avcodec_free_context;
    __typeof__(&avcodec_parameters_to_context) avcodec_parameters_to_context;
    __typeof__(&avcodec_open2) avcodec_open2;
    __typeof__(&avcodec_send_packet) avcodec_send_packet;
    __typeof__(&avcodec_receive_frame) avcodec_receive_frame;
    __typeof__(&avcodec_flush_buffers) avcodec_flush_buffers;
    __typeof__(&avcodec_get_name) avcodec_get_name;
    __typeof__(&avcodec_version) avcodec_version;
    __typeof__(&av_packet_alloc) av_packet_alloc;
    __typeof__(&av_packet_free) av_packet_free;
    __typeof__(&av_packet_unref) av_packet_unref;
    __typeof__(&av_frame_alloc) av_frame_alloc;
    __typeof__(&av_frame_free) av_frame_free;
    __typeof__(&av_frame_unref) av_frame_unref;
    __typeof__(&av_strerror) av_strerror;
    __typeof__(&av_log_set_level) av_log_set_level;
    __typeof__(&av_channel_layout_default) av_channel_layout_default;
    __typeof__(&av_channel_layout_uninit) av_channel_layout_uninit;
    __typeof__(&av_channel_layout_copy) av_channel_layout_copy;
    __typeof__(&avutil_version) avutil_version;
    __typeof__(&sws_getContext) sws_getContext;
    __typeof__(&sws_scale) sws_scale;
    __typeof__(&sws_freeContext) sws_freeContext;
    __typeof__(&sws_setColorspaceDetails) sws_setColorspaceDetails;
    __typeof__(&sws_getCoefficients) sws_getCoefficients;
    __typeof__(&swr_alloc_set_opts2) swr_alloc_set_opts2;
    __typeof__(&swr_init) swr_init;
    __typeof__(&swr_convert) swr_convert;
    __typeof__(&swr_get_out_samples) swr_get_out_samples;
    __typeof__(&swr_free) swr_free;
} ff;

static void *cm_open_library(const char *name) {
    void *lib = dlopen(name, RTLD_NOW | RTLD_GLOBAL);
    if (!lib) cm_set_error(ffmpeg_error, "cannot load %s (%s); %s", name, dlerror(), CM_INSTALL_HINT);
    return lib;
}
#endif

static void cm_load_ffmpeg_once(void) {
#if CM_HAVE_FFMPEG
    void *util = cm_open_library("libavutil.so." CM_STR(LIBAVUTIL_VERSION_MAJOR));
    if (!util) return;
    void *resample = cm_open_library("libswresample.so." CM_STR(LIBSWRESAMPLE_VERSION_MAJOR));
    if (!resample) return;
    void *scale = cm_open_library("libswscale.so." CM_STR(LIBSWSCALE_VERSION_MAJOR));
    if (!scale) return;
    void *codec = cm_open_library("libavcodec.so." CM_STR(LIBAVCODEC_VERSION_MAJOR));
    if (!codec) return;
    void *format = cm_open_library("libavformat.so." CM_STR(LIBAVFORMAT_VERSION_MAJOR));
    if (!format) return;
#define CM_FF_SYM(lib, name)                                                                        \
    if (!(*(void **)&ff.name = dlsym(lib, #name))) {                                                \
        cm_set_error(ffmpeg_error, "the FFmpeg library loaded lacks %s (%s)", #name, dlerror());    \
        return;                                                                                     \
    }
    CM_FF_SYM(format, avformat_open_input)
    CM_FF_SYM(format, avformat_find_stream_info)
    CM_FF_SYM(format, avformat_close_input)
    CM_FF_SYM(format, av_find_best_stream)
    CM_FF_SYM(format, av_read_frame)
    CM_FF_SYM(format, av_seek_frame)
    CM_FF_SYM(format, avformat_version)
    CM_FF_SYM(codec, avcodec_find_decoder)
    CM_FF_SYM(codec, avcodec_alloc_context3)
    CM_FF_SYM(codec, avcodec_free_context)
    CM_FF_SYM(codec, avcodec_parameters_to_context)
    CM_FF_SYM(codec, avcodec_open2)
    CM_FF_SYM(codec, avcodec_send_packet)
    CM_FF_SYM(codec, avcodec_receive_frame)
    CM_FF_SYM(codec, avcodec_flush_buffers)
    CM_FF_SYM(codec, avcodec_get_name)
    CM_FF_SYM(codec, avcodec_version)
    CM_FF_SYM(codec, av_packet_alloc)
    CM_FF_SYM(codec, av_packet_free)
    CM_FF_SYM(codec, av_packet_unref)
    CM_FF_SYM(util, av_frame_alloc)
    CM_FF_SYM(util, av_frame_free)
    CM_FF_SYM(util, av_frame_unref)
    CM_FF_SYM(util, av_strerror)
    CM_FF_SYM(util, av_log_set_level)
    CM_FF_SYM(util, av_channel_layout_default)
    CM_FF_SYM(util, av_channel_layout_uninit)
    CM_FF_SYM(util, av_channel_layout_copy)
    CM_FF_SYM(util, avutil_version)
    CM_FF_SYM(scale, sws_getContext)
    CM_FF_SYM(scale, sws_scale)
    CM_FF_SYM(scale, sws_freeContext)
    CM_FF_SYM(scale, sws_setColorspaceDetails)
    CM_FF_SYM(scale, sws_getCoefficients)
    CM_FF_SYM(resample, swr_alloc_set_opts2)
    CM_FF_SYM(resample, swr_init)
    CM_FF_SYM(resample, swr_convert)
    CM_FF_SYM(resample, swr_get_out_samples)
    CM_FF_SYM(resample, swr_free)
    ff.av_log_set_level(AV_LOG_QUIET);
    unsigned f = ff.avformat_version(), c = ff.avcodec_version(), u = ff.avutil_version();
    snprintf(ffmpeg_versions, sizeof ffmpeg_versions, "avformat %u.%u.%u, avcodec %u.%u.%u, avutil %u.%u.%u",
             f >> 16, (f >> 8) & 255, f & 255, c >> 16, (c >> 8) & 255, c & 255, u >> 16, (u >> 8) & 255, u & 255);
    ffmpeg_loaded = 1;
#else
    cm_set_error(ffmpeg_error, "this omnisift was built without FFmpeg's headers, so it cannot read media; %s, "
                 "then rebuild", CM_INSTALL_HINT);
#endif
}

int cm_load_ffmpeg(char *error) {
    pthread_once(&ffmpeg_once, cm_load_ffmpeg_once);
    if (!ffmpeg_loaded) {
        cm_set_error(error, "%s", ffmpeg_error);
        return -1;
    }
    return 0;
}

#if CM_HAVE_FFMPEG

static const char *cm_averror(int code, char *buffer, size_t size) {
    ff.av_strerror(code, buffer, size);
    return buffer;
}

/// Largest picture accepted (a 16K frame); larger ones are reported as absurd rather than allocated.
#define CM_MAX_PIXELS (16384LL * 16384LL)

struct cm_media {
    AVFormatContext *format;
    char path[1024];
    cm_info info;
    // Frame index from cm_scan_video: presentation times sorted ascending, and for each the presentation time of
    // the nearest key frame at or before it in presentation order.
    int64_t *pts;
    int64_t *key_pts;
    int64_t frame_count;
    int consumed;  // packets were read since opening: reopen before reading from the start again
};

/// Reopens the file when packets were read, so reading starts at the beginning without relying on seeking
/// (which some demuxers, e.g. AVI with mp3, do imprecisely). The streams keep their indices.
static int cm_rewind(cm_media *media, char *error) {
    if (!media->consumed) {
        media->consumed = 1;
        return 0;
    }
    AVFormatContext *format = NULL;
    char reason[128];
    int code = ff.avformat_open_input(&format, media->path, NULL, NULL);
    if (code >= 0) code = ff.avformat_find_stream_info(format, NULL);
    if (code < 0) {
        if (format) ff.avformat_close_input(&format);
        cm_set_error(error, "%s: cannot reopen (%s)", media->path, cm_averror(code, reason, sizeof reason));
        return -1;
    }
    ff.avformat_close_input(&media->format);
    media->format = format;
    return 0;
}


static double cm_seconds(int64_t value, AVRational base) {
    if (value == AV_NOPTS_VALUE || base.den == 0) return -1;
    return (double)value * base.num / base.den;
}

cm_media *cm_open(const char *path, char *error) {
    if (cm_load_ffmpeg(error) != 0) return NULL;
    AVFormatContext *format = NULL;
    char reason[128];
    int code = ff.avformat_open_input(&format, path, NULL, NULL);
    if (code < 0) {
        cm_set_error(error, "%s: cannot open as media (%s)", path, cm_averror(code, reason, sizeof reason));
        return NULL;
    }
    code = ff.avformat_find_stream_info(format, NULL);
    if (code < 0) {
        cm_set_error(error, "%s: cannot read its streams (%s)", path, cm_averror(code, reason, sizeof reason));
        ff.avformat_close_input(&format);
        return NULL;
    }
    cm_media *media = calloc(1, sizeof *media);
    if (!media) {
        ff.avformat_close_input(&format);
        cm_set_error(error, "%s: out of memory", path);
        return NULL;
    }
    media->format = format;
    snprintf(media->path, sizeof media->path, "%s", path);
    cm_info *info = &media->info;
    snprintf(info->format_name, sizeof info->format_name, "%s", format->iformat ? format->iformat->name : "?");
    info->format_duration = format->duration == AV_NOPTS_VALUE ? -1 : (double)format->duration / AV_TIME_BASE;
    info->stream_count = (int)format->nb_streams;
    info->video_stream = -1;
    info->audio_stream = -1;
    info->frames_from_header = -1;
    info->fps_from_header = -1;
    info->video_duration_from_header = -1;
    info->audio_duration_from_header = -1;

    int v = ff.av_find_best_stream(format, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (v >= 0) {
        AVStream *stream = format->streams[v];
        AVCodecParameters *par = stream->codecpar;
        info->video_stream = v;
        snprintf(info->video_codec, sizeof info->video_codec, "%s", ff.avcodec_get_name(par->codec_id));
        info->width = par->width;
        info->height = par->height;
        info->frames_from_header = stream->nb_frames > 0 ? stream->nb_frames : -1;
        if (stream->avg_frame_rate.num > 0 && stream->avg_frame_rate.den > 0)
            info->fps_from_header = (double)stream->avg_frame_rate.num / stream->avg_frame_rate.den;
        info->video_duration_from_header = cm_seconds(stream->duration, stream->time_base);
        info->is_still_image = (format->iformat && (format->iformat->flags & AVFMT_NOTIMESTAMPS)) ||
                               (strstr(info->format_name, "_pipe") != NULL) ||
                               strcmp(info->format_name, "image2") == 0;
    }
    int a = ff.av_find_best_stream(format, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
    if (a >= 0) {
        AVStream *stream = format->streams[a];
        info->audio_stream = a;
        snprintf(info->audio_codec, sizeof info->audio_codec, "%s", ff.avcodec_get_name(stream->codecpar->codec_id));
        info->sample_rate = stream->codecpar->sample_rate;
        info->channels = stream->codecpar->ch_layout.nb_channels;
        info->audio_duration_from_header = cm_seconds(stream->duration, stream->time_base);
    }
    return media;
}

void cm_close(cm_media *media) {
    if (!media) return;
    if (media->format) ff.avformat_close_input(&media->format);
    free(media->pts);
    free(media->key_pts);
    free(media);
}

void cm_get_info(const cm_media *media, cm_info *info) { *info = media->info; }

static AVCodecContext *cm_open_decoder(cm_media *media, int stream_index, int threads, char *error) {
    AVStream *stream = media->format->streams[stream_index];
    const AVCodec *codec = ff.avcodec_find_decoder(stream->codecpar->codec_id);
    if (!codec) {
        cm_set_error(error, "%s: stream %d uses codec '%s', which this FFmpeg cannot decode", media->path,
                     stream_index, ff.avcodec_get_name(stream->codecpar->codec_id));
        return NULL;
    }
    AVCodecContext *context = ff.avcodec_alloc_context3(codec);
    char reason[128];
    int code = context ? ff.avcodec_parameters_to_context(context, stream->codecpar) : AVERROR(ENOMEM);
    if (code >= 0) {
        context->pkt_timebase = stream->time_base;
        context->thread_count = threads;
        code = ff.avcodec_open2(context, codec, NULL);
    }
    if (code < 0) {
        cm_set_error(error, "%s: cannot open the %s decoder of stream %d (%s)", media->path, codec->name,
                     stream_index, cm_averror(code, reason, sizeof reason));
        ff.avcodec_free_context(&context);
        return NULL;
    }
    return context;
}

/// A stream's open decoder with its packet and frame: what every decode call (frames, picture, audio) opens
/// first and releases last.
typedef struct {
    AVCodecContext *decoder;
    AVPacket *packet;
    AVFrame *frame;
} cm_decoding;

static void cm_decoding_close(cm_decoding *d) {
    ff.av_frame_free(&d->frame);
    ff.av_packet_free(&d->packet);
    ff.avcodec_free_context(&d->decoder);
}

/// Opens stream `stream_index`'s decoder and allocates its packet and frame; on failure nothing stays allocated
/// and `error` says why.
static int cm_decoding_open(cm_media *media, int stream_index, int threads, cm_decoding *d, char *error) {
    d->decoder = cm_open_decoder(media, stream_index, threads, error);
    d->packet = NULL;
    d->frame = NULL;
    if (!d->decoder) return -1;
    d->packet = ff.av_packet_alloc();
    d->frame = ff.av_frame_alloc();
    if (!d->packet || !d->frame) {
        cm_decoding_close(d);
        cm_set_error(error, "%s: out of memory", media->path);
        return -1;
    }
    return 0;
}

/// The next decoded frame of stream `stream`, reading and sending packets as the decoder asks for them (the end
/// of the file starts draining). 0, AVERROR_EOF when drained, or another negative code.
static int cm_next_frame(cm_media *media, AVCodecContext *decoder, int stream, AVPacket *packet, AVFrame *frame,
                         int *draining, const int64_t *wanted_pts, int64_t wanted_count) {
    for (;;) {
        int code = ff.avcodec_receive_frame(decoder, frame);
        if (code != AVERROR(EAGAIN)) return code;
        if (*draining) return AVERROR_EOF;
        if (ff.av_read_frame(media->format, packet) < 0) {
            ff.avcodec_send_packet(decoder, NULL);
            *draining = 1;
            continue;
        }
        if (wanted_pts && packet->stream_index == stream) {
            // A frame nobody asked for that nothing references need not be decoded at all (the decoder skips
            // non-reference frames while skip_frame says so; frame threads copy it with each packet).
            int64_t pts = packet->pts != AV_NOPTS_VALUE ? packet->pts : packet->dts;
            int64_t lo = 0, hi = wanted_count - 1, hit = 0;
            while (lo <= hi) {
                int64_t mid = (lo + hi) / 2;
                if (wanted_pts[mid] == pts) { hit = 1; break; }
                if (wanted_pts[mid] < pts) lo = mid + 1; else hi = mid - 1;
            }
            decoder->skip_frame = hit || pts == AV_NOPTS_VALUE ? AVDISCARD_DEFAULT : AVDISCARD_NONREF;
        }
        int sent = packet->stream_index == stream ? ff.avcodec_send_packet(decoder, packet) : 0;
        ff.av_packet_unref(packet);
        if (sent < 0 && sent != AVERROR(EAGAIN) && sent != AVERROR_INVALIDDATA) return sent;
    }
}

static int cm_compare_int64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

typedef struct { int64_t pts; int key; } cm_packet_entry;

static int cm_compare_entry(const void *a, const void *b) {
    return cm_compare_int64(&((const cm_packet_entry *)a)->pts, &((const cm_packet_entry *)b)->pts);
}

int cm_scan_video(cm_media *media, int64_t *frame_count, double *begin_seconds, double *end_seconds, char *error) {
    int v = media->info.video_stream;
    if (v < 0) {
        cm_set_error(error, "%s: has no video stream", media->path);
        return -1;
    }
    if (cm_rewind(media, error) != 0) return -1;
    AVStream *stream = media->format->streams[v];
    AVPacket *packet = ff.av_packet_alloc();
    size_t capacity = 1024, count = 0;
    cm_packet_entry *entries = malloc(capacity * sizeof *entries);
    if (!packet || !entries) {
        ff.av_packet_free(&packet);
        free(entries);
        cm_set_error(error, "%s: out of memory", media->path);
        return -1;
    }
    int64_t begin = INT64_MAX, end = INT64_MIN;
    int code;
    char reason[128];
    while ((code = ff.av_read_frame(media->format, packet)) >= 0) {
        if (packet->stream_index == v) {
            int64_t pts = packet->pts != AV_NOPTS_VALUE ? packet->pts : packet->dts;
            if (pts != AV_NOPTS_VALUE) {
                if (count == capacity) {
                    capacity *= 2;
                    cm_packet_entry *grown = realloc(entries, capacity * sizeof *entries);
                    if (!grown) { code = AVERROR(ENOMEM); ff.av_packet_unref(packet); break; }
                    entries = grown;
                }
                entries[count].pts = pts;
                entries[count].key = (packet->flags & AV_PKT_FLAG_KEY) != 0;
                count++;
                if (pts < begin) begin = pts;
                if (pts + packet->duration > end) end = pts + packet->duration;
            }
        }
        ff.av_packet_unref(packet);
    }
    ff.av_packet_free(&packet);
    if (code != AVERROR_EOF && code < 0 && count == 0) {
        free(entries);
        cm_set_error(error, "%s: cannot read the video packets (%s)", media->path,
                     cm_averror(code, reason, sizeof reason));
        return -1;
    }
    if (count == 0) {
        free(entries);
        cm_set_error(error, "%s: the video stream holds no frames", media->path);
        return -1;
    }
    qsort(entries, count, sizeof *entries, cm_compare_entry);
    free(media->pts);
    free(media->key_pts);
    media->pts = malloc(count * sizeof(int64_t));
    media->key_pts = malloc(count * sizeof(int64_t));
    if (!media->pts || !media->key_pts) {
        free(entries);
        cm_set_error(error, "%s: out of memory", media->path);
        return -1;
    }
    int64_t last_key = entries[0].pts;
    for (size_t i = 0; i < count; i++) {
        if (entries[i].key) last_key = entries[i].pts;
        media->pts[i] = entries[i].pts;
        media->key_pts[i] = last_key;
    }
    free(entries);
    media->frame_count = (int64_t)count;
    *frame_count = (int64_t)count;
    *begin_seconds = cm_seconds(begin, stream->time_base);
    *end_seconds = cm_seconds(end, stream->time_base);
    return 0;
}

/// Index of `pts` in the sorted table, or -1.
static int64_t cm_find_pts(const cm_media *media, int64_t pts) {
    int64_t lo = 0, hi = media->frame_count - 1;
    while (lo <= hi) {
        int64_t mid = (lo + hi) / 2;
        if (media->pts[mid] == pts) return mid;
        if (media->pts[mid] < pts) lo = mid + 1; else hi = mid - 1;
    }
    return -1;
}

/// libswscale may write past the end of a row (its SIMD paths store whole vectors), so pictures are converted
/// into this padded scratch (64-byte aligned rows, spare rows at the end) and then copied out row by row.
typedef struct {
    uint8_t *data;
    int stride;
} cm_scratch;

static int cm_scratch_init(cm_scratch *scratch, int width, int height, int bytes_per_pixel) {
    scratch->stride = (width * bytes_per_pixel + 63) & ~63;
    scratch->data = malloc((size_t)scratch->stride * (height + 2) + 256);
    return scratch->data ? 0 : -1;
}

static void cm_scratch_copy(const cm_scratch *scratch, uint8_t *out, int width, int height, int bytes_per_pixel) {
    for (int y = 0; y < height; y++)
        memcpy(out + (size_t)y * width * bytes_per_pixel, scratch->data + (size_t)y * scratch->stride,
               (size_t)width * bytes_per_pixel);
}

/// Converts one decoded frame to packed RGB24 of the stream's size with the frame's own colour matrix and range.
static int cm_frame_to_rgb(cm_media *media, struct SwsContext **scaler, cm_scratch *scratch, const AVFrame *frame,
                           uint8_t *rgb, char *error) {
    int width = media->info.width, height = media->info.height;
    if (frame->width != width || frame->height != height) {
        cm_set_error(error, "%s: a frame is %dx%d but the stream says %dx%d (size changes are not supported)",
                     media->path, frame->width, frame->height, width, height);
        return -1;
    }
    if (!*scaler) {
        *scaler = ff.sws_getContext(width, height, frame->format, width, height, AV_PIX_FMT_RGB24, SWS_BILINEAR,
                                    NULL, NULL, NULL);
        if (!*scaler) {
            cm_set_error(error, "%s: cannot convert pixel format %d to RGB24", media->path, frame->format);
            return -1;
        }
        int colorspace = frame->colorspace == AVCOL_SPC_UNSPECIFIED ? SWS_CS_DEFAULT : frame->colorspace;
        const int *coefficients = ff.sws_getCoefficients(colorspace);
        int full_range = frame->color_range == AVCOL_RANGE_JPEG;
        ff.sws_setColorspaceDetails(*scaler, coefficients, full_range, ff.sws_getCoefficients(SWS_CS_DEFAULT), 1,
                                    0, 1 << 16, 1 << 16);
    }
    if (!scratch->data && cm_scratch_init(scratch, width, height, 3) != 0) {
        cm_set_error(error, "%s: out of memory", media->path);
        return -1;
    }
    uint8_t *planes[1] = {scratch->data};
    int strides[1] = {scratch->stride};
    ff.sws_scale(*scaler, (const uint8_t *const *)frame->data, frame->linesize, 0, height, planes, strides);
    cm_scratch_copy(scratch, rgb, width, height, 3);
    return 0;
}

int cm_decode_video_frames(cm_media *media, const int64_t *indices, int64_t count, uint8_t *rgb,
                           void (*progress)(int64_t, int64_t, void *), void *context, char *error) {
    int v = media->info.video_stream;
    if (v < 0 || !media->pts) {
        cm_set_error(error, "%s: no scanned video stream", media->path);
        return -1;
    }
    for (int64_t i = 0; i < count; i++) {
        if (indices[i] < 0 || indices[i] >= media->frame_count || (i > 0 && indices[i] < indices[i - 1])) {
            cm_set_error(error, "%s: frame index %lld is out of order or outside 0..<%lld", media->path,
                         (long long)indices[i], (long long)media->frame_count);
            return -1;
        }
    }
    if ((int64_t)media->info.width * media->info.height > CM_MAX_PIXELS || media->info.width <= 0 ||
        media->info.height <= 0) {
        cm_set_error(error, "%s: video size %dx%d is not supported", media->path, media->info.width,
                     media->info.height);
        return -1;
    }
    if (cm_rewind(media, error) != 0) return -1;
    cm_decoding d;
    if (cm_decoding_open(media, v, 0, &d, error) != 0) return -1;
    AVCodecContext *decoder = d.decoder;
    AVPacket *packet = d.packet;
    AVFrame *frame = d.frame;
    struct SwsContext *scaler = NULL;
    cm_scratch scratch = {NULL, 0};
    int64_t *wanted_pts = malloc((size_t)(count > 0 ? count : 1) * sizeof(int64_t));
    if (!wanted_pts) {
        cm_decoding_close(&d);
        cm_set_error(error, "%s: out of memory", media->path);
        return -1;
    }
    for (int64_t i = 0; i < count; i++) wanted_pts[i] = media->pts[indices[i]];  // ascending, like indices
    size_t frame_bytes = (size_t)media->info.width * media->info.height * 3;
    int64_t next = 0;            // position in `indices` of the next wanted frame
    int64_t decoded_up_to = -1;  // index of the last frame the decoder produced
    int status = 0, draining = 0;
    char reason[128];
    while (next < count && status == 0) {
        int64_t target = indices[next];
        // Seek when the key frame before the target lies ahead of what was decoded (reading starts at the first
        // packet). When the seek fails, decoding just goes on forward.
        int64_t key = media->key_pts[target];
        int64_t key_index = cm_find_pts(media, key);
        if (key_index > decoded_up_to + 1 && !draining) {
            if (ff.av_seek_frame(media->format, v, key, AVSEEK_FLAG_BACKWARD) >= 0) {
                ff.avcodec_flush_buffers(decoder);
            }
        }
        // Decode until the target frame comes out.
        int found = 0;
        while (!found && status == 0) {
            int code = cm_next_frame(media, decoder, v, packet, frame, &draining, wanted_pts, count);
            if (code == AVERROR_EOF) {
                cm_set_error(error, "%s: the file ended before frame %lld of %lld could be decoded (truncated or "
                             "corrupt)", media->path, (long long)target, (long long)media->frame_count);
                status = -1;
                break;
            }
            if (code < 0) {
                cm_set_error(error, "%s: decoding failed (%s)", media->path, cm_averror(code, reason, sizeof reason));
                status = -1;
                break;
            }
            int64_t pts = frame->best_effort_timestamp;
            int64_t index = pts == AV_NOPTS_VALUE ? decoded_up_to + 1 : cm_find_pts(media, pts);
            if (index < 0) {  // a time the packet scan did not see: place it after the previous frame
                index = decoded_up_to + 1;
            }
            decoded_up_to = index;
            while (next < count && indices[next] == index) {
                if (cm_frame_to_rgb(media, &scaler, &scratch, frame, rgb + (size_t)next * frame_bytes, error) != 0) {
                    status = -1;
                    break;
                }
                next++;
                found = 1;
                if (progress) progress(next, count, context);
            }
            if (!found && next < count && index > indices[next]) {
                // Passed the target without seeing it (its time was not in the stream): use this frame.
                while (next < count && indices[next] < index) {
                    if (cm_frame_to_rgb(media, &scaler, &scratch, frame, rgb + (size_t)next * frame_bytes, error) != 0) {
                        status = -1;
                        break;
                    }
                    next++;
                    found = 1;
                    if (progress) progress(next, count, context);
                }
            }
            ff.av_frame_unref(frame);
        }
    }
    ff.sws_freeContext(scaler);
    free(scratch.data);
    free(wanted_pts);
    cm_decoding_close(&d);
    return status;
}

int cm_decode_picture(cm_media *media, uint8_t **rgb, int *width, int *height, char *error) {
    *rgb = NULL;
    int v = media->info.video_stream;
    if (v < 0) {
        cm_set_error(error, "%s: holds no picture (no video stream)", media->path);
        return -1;
    }
    int w = media->info.width, h = media->info.height;
    if ((int64_t)w * h > CM_MAX_PIXELS || w <= 0 || h <= 0) {
        cm_set_error(error, "%s: picture size %dx%d is not supported", media->path, w, h);
        return -1;
    }
    if (cm_rewind(media, error) != 0) return -1;
    cm_decoding d;
    if (cm_decoding_open(media, v, 1, &d, error) != 0) return -1;
    AVCodecContext *decoder = d.decoder;
    AVPacket *packet = d.packet;
    AVFrame *frame = d.frame;
    uint8_t *buffer = malloc((size_t)w * h * 4);
    int status = -1, draining = 0;
    char reason[128];
    // The packets find_stream_info read are still queued, so reading on from here starts at the first picture.
    while (buffer) {
        int code = cm_next_frame(media, decoder, v, packet, frame, &draining, NULL, 0);
        if (code < 0) {
            cm_set_error(error, "%s: no picture could be decoded (%s)", media->path,
                         code == AVERROR_EOF ? "truncated or corrupt" : cm_averror(code, reason, sizeof reason));
            break;
        }
        if (frame->width != w || frame->height != h) {
            cm_set_error(error, "%s: the picture is %dx%d but the stream says %dx%d", media->path, frame->width,
                         frame->height, w, h);
            break;
        }
        // Pillow (qwen-omni-utils' to_rgb) puts RGBA pictures on white; other alpha kinds (grey + alpha,
        // palettes) just lose the alpha, as libswscale's RGB24 conversion does.
        enum AVPixelFormat f = frame->format;
        int rgba = f == AV_PIX_FMT_RGBA || f == AV_PIX_FMT_BGRA || f == AV_PIX_FMT_ARGB || f == AV_PIX_FMT_ABGR ||
                   f == AV_PIX_FMT_RGBA64BE || f == AV_PIX_FMT_RGBA64LE;
        // Full-resolution chroma interpolation comes closest to libjpeg's "fancy" upsampling that Pillow's
        // decoder uses (JPEG pictures still differ at sharp colour edges; see README).
        struct SwsContext *scaler = ff.sws_getContext(w, h, f, w, h, rgba ? AV_PIX_FMT_RGBA : AV_PIX_FMT_RGB24,
                                                      SWS_BILINEAR | SWS_FULL_CHR_H_INT | SWS_FULL_CHR_H_INP |
                                                      SWS_ACCURATE_RND, NULL, NULL, NULL);
        if (!scaler) {
            cm_set_error(error, "%s: cannot convert pixel format %d to RGB", media->path, f);
            break;
        }
        cm_scratch scratch;
        if (cm_scratch_init(&scratch, w, h, rgba ? 4 : 3) != 0) {
            ff.sws_freeContext(scaler);
            cm_set_error(error, "%s: out of memory", media->path);
            break;
        }
        uint8_t *planes[1] = {scratch.data};
        int strides[1] = {scratch.stride};
        ff.sws_scale(scaler, (const uint8_t *const *)frame->data, frame->linesize, 0, h, planes, strides);
        ff.sws_freeContext(scaler);
        cm_scratch_copy(&scratch, buffer, w, h, rgba ? 4 : 3);
        free(scratch.data);
        if (rgba) {
            for (size_t i = 0; i < (size_t)w * h; i++) {
                unsigned a = buffer[4 * i + 3];
                for (int c = 0; c < 3; c++) {
                    unsigned t = 255u * (255u - a) + buffer[4 * i + c] * a + 128u;
                    buffer[3 * i + c] = (uint8_t)(((t >> 8) + t) >> 8);
                }
            }
        }
        status = 0;
        break;
    }
    if (!buffer) cm_set_error(error, "%s: out of memory", media->path);
    cm_decoding_close(&d);
    if (status != 0) {
        free(buffer);
        return -1;
    }
    *rgb = buffer;
    *width = w;
    *height = h;
    return 0;
}

int cm_decode_audio(cm_media *media, int as_float, void **samples, int64_t *frames, int *channels, int *sample_rate,
                    char *error) {
    const enum AVSampleFormat out_format = as_float ? AV_SAMPLE_FMT_FLT : AV_SAMPLE_FMT_S16;
    const size_t sample_bytes = as_float ? sizeof(float) : sizeof(int16_t);
    *samples = NULL;
    *frames = 0;
    int a = media->info.audio_stream;
    if (a < 0) {
        cm_set_error(error, "%s: has no audio stream", media->path);
        return -1;
    }
    if (cm_rewind(media, error) != 0) return -1;
    cm_decoding d;
    if (cm_decoding_open(media, a, 1, &d, error) != 0) return -1;
    AVCodecContext *decoder = d.decoder;
    AVPacket *packet = d.packet;
    AVFrame *frame = d.frame;
    SwrContext *converter = NULL;
    AVChannelLayout layout = {0};
    int out_channels = 0, rate = 0;
    size_t capacity = 0, used = 0;  // in values (frames x channels)
    uint8_t *buffer = NULL;
    int status = 0, draining = 0;
    char reason[128];
    while (status == 0) {
        int code = cm_next_frame(media, decoder, a, packet, frame, &draining, NULL, 0);
        if (code == AVERROR_EOF) break;
        if (code < 0) {
            cm_set_error(error, "%s: audio decoding failed (%s)", media->path, cm_averror(code, reason, sizeof reason));
            status = -1;
            break;
        }
        if (!converter) {
            if (frame->ch_layout.nb_channels <= 0 || frame->sample_rate <= 0) {
                cm_set_error(error, "%s: the audio stream has %d channels at %d Hz", media->path,
                             frame->ch_layout.nb_channels, frame->sample_rate);
                status = -1;
                break;
            }
            if (frame->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC)
                ff.av_channel_layout_default(&layout, frame->ch_layout.nb_channels);
            else
                ff.av_channel_layout_copy(&layout, &frame->ch_layout);
            out_channels = layout.nb_channels;
            rate = frame->sample_rate;
            int made = ff.swr_alloc_set_opts2(&converter, &layout, out_format, rate, &layout,
                                              frame->format, rate, 0, NULL);
            if (made < 0 || ff.swr_init(converter) < 0) {
                cm_set_error(error, "%s: cannot convert the audio to 16-bit PCM", media->path);
                status = -1;
                break;
            }
        }
        if (frame->sample_rate != rate || frame->ch_layout.nb_channels != out_channels) {
            cm_set_error(error, "%s: the audio format changes mid-stream (%d Hz x %d -> %d Hz x %d)", media->path,
                         rate, out_channels, frame->sample_rate, frame->ch_layout.nb_channels);
            status = -1;
            break;
        }
        int room = ff.swr_get_out_samples(converter, frame->nb_samples);
        if (room < 0) room = frame->nb_samples;
        if (used + (size_t)room * out_channels > capacity) {
            size_t wanted = capacity ? capacity * 2 : (size_t)1 << 20;
            while (wanted < used + (size_t)room * out_channels) wanted *= 2;
            uint8_t *grown = realloc(buffer, wanted * sample_bytes);
            if (!grown) {
                cm_set_error(error, "%s: out of memory decoding audio", media->path);
                status = -1;
                break;
            }
            buffer = grown;
            capacity = wanted;
        }
        uint8_t *out[1] = {buffer + used * sample_bytes};
        int converted = ff.swr_convert(converter, out, room, (const uint8_t **)frame->extended_data, frame->nb_samples);
        if (converted < 0) {
            cm_set_error(error, "%s: audio conversion failed", media->path);
            status = -1;
            break;
        }
        used += (size_t)converted * out_channels;
        ff.av_frame_unref(frame);
    }
    if (status == 0 && used == 0) {
        cm_set_error(error, "%s: the audio stream holds no samples", media->path);
        status = -1;
    }
    ff.swr_free(&converter);
    ff.av_channel_layout_uninit(&layout);
    cm_decoding_close(&d);
    if (status != 0) {
        free(buffer);
        return -1;
    }
    *samples = buffer;
    *frames = (int64_t)(used / out_channels);
    *channels = out_channels;
    *sample_rate = rate;
    return 0;
}

#else  // built without FFmpeg's headers: every entry point reports why.

struct cm_media { int unused; };
cm_media *cm_open(const char *path, char *error) { (void)path; cm_load_ffmpeg(error); return NULL; }
void cm_close(cm_media *media) { (void)media; }
void cm_get_info(const cm_media *media, cm_info *info) { (void)media; memset(info, 0, sizeof *info); }
int cm_scan_video(cm_media *m, int64_t *c, double *b, double *e, char *error) {
    (void)m; (void)c; (void)b; (void)e; return cm_load_ffmpeg(error);
}
int cm_decode_video_frames(cm_media *m, const int64_t *i, int64_t c, uint8_t *r,
                           void (*p)(int64_t, int64_t, void *), void *x, char *error) {
    (void)m; (void)i; (void)c; (void)r; (void)p; (void)x; return cm_load_ffmpeg(error);
}
int cm_decode_picture(cm_media *m, uint8_t **r, int *w, int *h, char *error) {
    (void)m; (void)w; (void)h; *r = NULL; return cm_load_ffmpeg(error);
}
int cm_decode_audio(cm_media *m, int as_float, void **s, int64_t *f, int *c, int *r, char *error) {
    (void)m; (void)as_float; (void)f; (void)c; (void)r; *s = NULL; return cm_load_ffmpeg(error);
}
#endif
