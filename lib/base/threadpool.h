/*
 * pool.h - a small persistent thread pool for the forward pass: a
 * parallel-for over [0, count) shared by the caller and n - 1 parked
 * workers.  Internal; only the graph executor (net.c, layers.c) uses it,
 * and only inside feat_net_forward.
 *
 * Work is handed out in chunks of `grain` indices from a shared counter,
 * so a worker slowed down by something else on its core simply takes
 * fewer chunks.  Each call of fn gets the id of the thread running it
 * (0 is the caller, 1 .. n - 1 the workers) so that it can use scratch
 * memory of its own.  Which thread runs which chunk varies from run to
 * run: fn must write results that depend only on the indices it is given.
 *
 * Between calls the workers spin for a short while (about 100 us: the gap
 * between two layers) and then sleep on a condition variable, so an idle
 * pool costs no CPU.
 */
#ifndef FEAT_POOL_H
#define FEAT_POOL_H

#define FEAT_POOL_MAX 64   /* threads, the caller included */

struct feat_threadpool;

/* Run indices [begin, end) on thread `worker`. */
typedef void (*feat_threadpool_fn)(void *arg, long begin, long end, int worker);

/* A pool of n threads, the caller counted: n - 1 are started.  0, or
 * FEAT_E_INVAL (n outside 2 .. FEAT_POOL_MAX) or FEAT_E_NOMEM (memory or
 * a thread could not be had; nothing is left running). */
int feat_threadpool_new(struct feat_threadpool **out, int n);
/* Stop and join the workers (each frees its kernel workspace); NULL is
 * fine.  No call may be running. */
void feat_threadpool_free(struct feat_threadpool *p);
/* Threads, the caller counted; 1 for NULL. */
int feat_threadpool_threads(const struct feat_threadpool *p);
/*
 * fn over [0, count) in chunks of grain (>= 1), on all threads of p, and
 * return when every chunk is done.  With p NULL, or a single chunk, fn
 * runs once on the caller as fn(arg, 0, count, 0).  One caller at a time.
 */
void feat_threadpool_for(struct feat_threadpool *p, long count, long grain, feat_threadpool_fn fn,
	void *arg);

#endif
