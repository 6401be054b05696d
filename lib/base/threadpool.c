/*
 * pool.c - the forward pass's thread pool (see pool.h).
 *
 * One job at a time.  The caller fills in the job, then bumps `gen` under
 * the mutex (a worker about to sleep checks gen under the same mutex, so
 * no wake-up is lost) and takes chunks itself.  A worker that sees a new
 * gen takes chunks until none are left, then decrements `busy`; the last
 * one signals the caller, which returns only when busy is 0: no worker
 * still reads the job when the next one is written.  The ordering comes
 * from the atomics (gen: release/acquire; busy: acq_rel/acquire), so the
 * plain job fields need no lock.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "base/internal.h"
#include "kern/kern.h"
#include "base/threadpool.h"

/* Spin this long before sleeping: longer than the serial gap between two
 * parallel layers, much shorter than anything a user would see as load. */
#define SPIN_NS 100000L

struct worker {
	struct feat_threadpool *p;
	int id;
};

struct feat_threadpool {
	int n;                      /* threads, the caller counted */
	int started;                /* workers running */
	pthread_t *tid;
	struct worker *w;
	pthread_mutex_t mu;
	pthread_cond_t wake;        /* a new gen (or stop) */
	pthread_cond_t done;        /* busy reached 0 */
	/* the job: written by the caller while no worker reads it */
	feat_threadpool_fn fn;
	void *arg;
	long count, grain;
	atomic_long next;           /* first index not yet handed out */
	atomic_uint gen;            /* bumped once per job */
	atomic_int busy;            /* workers not yet done with the job */
	atomic_int stop;
};

static long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static inline void relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static void take_chunks(struct feat_threadpool *p, int id)
{
	for (;;) {
		long b = atomic_fetch_add_explicit(&p->next, p->grain, memory_order_relaxed);

		if (b >= p->count)
			return;
		p->fn(p->arg, b, b + p->grain < p->count ? b + p->grain : p->count, id);
	}
}

/* Wait for gen to move on from seen: spin, then sleep.  Returns the new gen. */
static unsigned wait_gen(struct feat_threadpool *p, unsigned seen)
{
	long t0 = now_ns();
	unsigned g;

	for (int i = 1;; i++) {
		if ((g = atomic_load_explicit(&p->gen, memory_order_acquire)) != seen)
			return g;
		relax();
		if (!(i & 63) && now_ns() - t0 > SPIN_NS)
			break;
	}
	pthread_mutex_lock(&p->mu);
	while ((g = atomic_load_explicit(&p->gen, memory_order_acquire)) == seen)
		pthread_cond_wait(&p->wake, &p->mu);
	pthread_mutex_unlock(&p->mu);
	return g;
}

static void *worker_main(void *v)
{
	struct worker *w = v;
	struct feat_threadpool *p = w->p;
	unsigned seen = 0;

	for (;;) {
		seen = wait_gen(p, seen);
		if (atomic_load_explicit(&p->stop, memory_order_acquire))
			break;
		take_chunks(p, w->id);
		if (atomic_fetch_sub_explicit(&p->busy, 1, memory_order_acq_rel) == 1) {
			pthread_mutex_lock(&p->mu);
			pthread_cond_signal(&p->done);
			pthread_mutex_unlock(&p->mu);
		}
	}
	/* the AVX-512 GEMM keeps packing buffers per thread */
	feat_kern_workspace_free();
	return NULL;
}

/* Publish a new gen (the job or stop is already written). */
static void bump(struct feat_threadpool *p)
{
	pthread_mutex_lock(&p->mu);
	atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->mu);
}

int feat_threadpool_new(struct feat_threadpool **out, int n)
{
	struct feat_threadpool *p;

	*out = NULL;
	if (n < 2 || n > FEAT_POOL_MAX)
		return FEAT_E_INVAL;
	if (!(p = calloc(1, sizeof *p)))
		return FEAT_E_NOMEM;
	p->n = n;
	p->tid = calloc((size_t)n, sizeof *p->tid);
	p->w = calloc((size_t)n, sizeof *p->w);
	if (!p->tid || !p->w || pthread_mutex_init(&p->mu, NULL)) {
		free(p->tid);
		free(p->w);
		free(p);
		return FEAT_E_NOMEM;
	}
	pthread_cond_init(&p->wake, NULL);
	pthread_cond_init(&p->done, NULL);
	atomic_init(&p->next, 0);
	atomic_init(&p->gen, 0);
	atomic_init(&p->busy, 0);
	atomic_init(&p->stop, 0);
	for (int i = 1; i < n; i++) {
		p->w[i].p = p;
		p->w[i].id = i;
		if (pthread_create(&p->tid[i], NULL, worker_main, &p->w[i])) {
			feat_threadpool_free(p);
			return FEAT_E_NOMEM;
		}
		p->started++;
	}
	*out = p;
	return 0;
}

void feat_threadpool_free(struct feat_threadpool *p)
{
	if (!p)
		return;
	atomic_store_explicit(&p->stop, 1, memory_order_release);
	bump(p);
	for (int i = 1; i <= p->started; i++)
		pthread_join(p->tid[i], NULL);
	pthread_cond_destroy(&p->wake);
	pthread_cond_destroy(&p->done);
	pthread_mutex_destroy(&p->mu);
	free(p->tid);
	free(p->w);
	free(p);
}

int feat_threadpool_threads(const struct feat_threadpool *p)
{
	return p ? p->n : 1;
}

void feat_threadpool_for(struct feat_threadpool *p, long count, long grain, feat_threadpool_fn fn,
	void *arg)
{
	long t0;

	if (count <= 0)
		return;
	if (grain < 1)
		grain = 1;
	if (!p || count <= grain) {
		fn(arg, 0, count, 0);
		return;
	}
	p->fn = fn;
	p->arg = arg;
	p->count = count;
	p->grain = grain;
	atomic_store_explicit(&p->next, 0, memory_order_relaxed);
	atomic_store_explicit(&p->busy, p->n - 1, memory_order_relaxed);
	bump(p);
	take_chunks(p, 0);
	t0 = now_ns();
	for (int i = 1; atomic_load_explicit(&p->busy, memory_order_acquire); i++) {
		relax();
		if (!(i & 63) && now_ns() - t0 > SPIN_NS) {
			pthread_mutex_lock(&p->mu);
			while (atomic_load_explicit(&p->busy, memory_order_acquire))
				pthread_cond_wait(&p->done, &p->mu);
			pthread_mutex_unlock(&p->mu);
			break;
		}
	}
}
