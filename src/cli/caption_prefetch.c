/* caption_prefetch.c - loads the next image (read, decode, preprocess:
 * glimpse_image_load_file, which needs no session) on a thread of its own
 * while the caller's session answers the current one, so that decoding
 * large photos costs no time of its own. One image is held ready: enough
 * to hide decoding behind answering, and a preprocessed image can weigh
 * tens of megabytes. */
#include "caption.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    glimpse_image *image; /* NULL when loading failed */
    char *error;          /* why, malloc'd */
    double load_ms;
} loaded;

struct caption_prefetch {
    const glimpse_model *m;
    char *const *paths; /* (n) the caller's, in the order they are taken */
    size_t n;
    size_t next_load;   /* without a thread: the next path to load on demand */
    int threaded;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;  /* signalled when ready fills or empties, or on stop */
    int full;           /* ready holds an image not yet taken */
    int stop;
    loaded ready;
};

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* The error text is per thread: it is copied on the thread that failed. */
static loaded load(const glimpse_model *m, const char *path) {
    loaded r = {0};
    double t0 = now_ms();
    if (glimpse_image_load_file(m, path, &r.image) != GLIMPSE_OK) {
        r.image = NULL;
        r.error = strdup(glimpse_last_error());
    }
    r.load_ms = now_ms() - t0;
    return r;
}

static void *run(void *arg) {
    caption_prefetch *p = arg;
    for (size_t i = 0; i < p->n; i++) {
        loaded r = load(p->m, p->paths[i]);
        pthread_mutex_lock(&p->mu);
        while (p->full && !p->stop) pthread_cond_wait(&p->cv, &p->mu);
        int stop = p->stop;
        if (!stop) {
            p->ready = r;
            p->full = 1;
            pthread_cond_broadcast(&p->cv);
        }
        pthread_mutex_unlock(&p->mu);
        if (stop) {
            glimpse_image_free(r.image);
            free(r.error);
            break;
        }
    }
    return NULL;
}

caption_prefetch *caption_prefetch_start(const glimpse_model *m, char *const *paths, size_t n) {
    caption_prefetch *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->m = m;
    p->paths = paths;
    p->n = n;
    if (n > 0 && !pthread_mutex_init(&p->mu, NULL)) {
        if (!pthread_cond_init(&p->cv, NULL)) {
            p->threaded = pthread_create(&p->thread, NULL, run, p) == 0;
            if (!p->threaded) pthread_cond_destroy(&p->cv);
        }
        if (!p->threaded) pthread_mutex_destroy(&p->mu);
    }
    return p;
}

glimpse_image *caption_prefetch_next(caption_prefetch *p, char **error, double *load_ms) {
    loaded r;
    if (!p->threaded) {
        r = load(p->m, p->paths[p->next_load++]);
    } else {
        pthread_mutex_lock(&p->mu);
        while (!p->full) pthread_cond_wait(&p->cv, &p->mu);
        r = p->ready;
        p->full = 0;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    *error = r.error;
    if (!r.image && !r.error) *error = strdup("out of memory");
    *load_ms = r.load_ms;
    return r.image;
}

void caption_prefetch_stop(caption_prefetch *p) {
    if (!p) return;
    if (p->threaded) {
        pthread_mutex_lock(&p->mu);
        p->stop = 1;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        pthread_join(p->thread, NULL);
        if (p->full) {
            glimpse_image_free(p->ready.image);
            free(p->ready.error);
        }
        pthread_cond_destroy(&p->cv);
        pthread_mutex_destroy(&p->mu);
    }
    free(p);
}
