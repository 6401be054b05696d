/*
 * test_pool.c - the forward pass's thread pool (lib/base/threadpool.c): every index
 * is run exactly once, by a thread id in range; one chunk or no pool runs
 * on the caller; thousands of back-to-back jobs (workers spinning) and
 * jobs after a pause (workers asleep) both complete; a pool can be freed
 * without ever running a job.  Run under TSan to check the handoff.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "base/internal.h"
#include "base/threadpool.h"
#include "unit.h"

struct hits {
	long count;
	int threads;
	atomic_int *hit;
	atomic_int bad;      /* a range or worker id out of bounds */
	atomic_long calls;
};

static void mark(void *arg, long b, long e, int worker)
{
	struct hits *h = arg;

	atomic_fetch_add(&h->calls, 1);
	if (b < 0 || e > h->count || b >= e || worker < 0 || worker >= h->threads)
		atomic_fetch_add(&h->bad, 1);
	for (long i = b; i < e && i < h->count && i >= 0; i++)
		atomic_fetch_add(&h->hit[i], 1);
}

static void run_and_check(struct feat_threadpool *p, int threads, long count, long grain)
{
	struct hits h = { .count = count, .threads = threads };

	h.hit = calloc((size_t)count + 1, sizeof *h.hit);
	ck_assert_ptr_nonnull(h.hit);
	feat_threadpool_for(p, count, grain, mark, &h);
	ck_assert_int_eq(atomic_load(&h.bad), 0);
	for (long i = 0; i < count; i++)
		ck_assert_int_eq(atomic_load(&h.hit[i]), 1);
	if (count > 0)
		ck_assert_int_eq(atomic_load(&h.calls), grain >= count || !p ? 1 :
				 (count + grain - 1) / grain);
	free(h.hit);
}

START_TEST(test_bad_counts)
{
	struct feat_threadpool *p = (struct feat_threadpool *)1;

	ck_assert_int_eq(feat_threadpool_new(&p, 1), FEAT_E_INVAL);
	ck_assert_ptr_null(p);
	ck_assert_int_eq(feat_threadpool_new(&p, FEAT_POOL_MAX + 1), FEAT_E_INVAL);
	ck_assert_int_eq(feat_threadpool_threads(NULL), 1);
	feat_threadpool_free(NULL);
}
END_TEST

START_TEST(test_every_index_once)
{
	static const int sizes[] = { 2, 3, 8 };

	for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
		struct feat_threadpool *p;

		ck_assert_int_eq(feat_threadpool_new(&p, sizes[s]), 0);
		ck_assert_int_eq(feat_threadpool_threads(p), sizes[s]);
		run_and_check(p, sizes[s], 10000, 7);
		run_and_check(p, sizes[s], 10000, 1);
		run_and_check(p, sizes[s], 5, 1);
		run_and_check(p, sizes[s], 1, 1);
		run_and_check(p, sizes[s], 0, 1);
		run_and_check(p, sizes[s], 100, 1000);   /* one chunk: inline */
		feat_threadpool_free(p);
	}
}
END_TEST

START_TEST(test_no_pool_inline)
{
	run_and_check(NULL, 1, 1000, 3);
}
END_TEST

struct sum {
	atomic_long total;
};

static void add_range(void *arg, long b, long e, int worker)
{
	struct sum *s = arg;

	(void)worker;
	for (long i = b; i < e; i++)
		atomic_fetch_add_explicit(&s->total, i, memory_order_relaxed);
}

START_TEST(test_back_to_back)
{
	struct feat_threadpool *p;
	struct sum s;

	/* as many threads as a CI machine has cores: with more, each job of
	 * a busy machine waits for a descheduled worker, and the case
	 * measures the scheduler, not the pool */
	ck_assert_int_eq(feat_threadpool_new(&p, 2), 0);
	for (int r = 0; r < 2000; r++) {
		atomic_init(&s.total, 0);
		feat_threadpool_for(p, 64, 1, add_range, &s);
		ck_assert_int_eq(atomic_load(&s.total), 64 * 63 / 2);
	}
	feat_threadpool_free(p);
}
END_TEST

START_TEST(test_after_sleep)
{
	struct feat_threadpool *p;
	struct sum s;
	struct timespec ms = { 0, 2000000 };   /* well past the spin */

	ck_assert_int_eq(feat_threadpool_new(&p, 2), 0);
	for (int r = 0; r < 5; r++) {
		nanosleep(&ms, NULL);
		atomic_init(&s.total, 0);
		feat_threadpool_for(p, 1000, 10, add_range, &s);
		ck_assert_int_eq(atomic_load(&s.total), 1000L * 999 / 2);
	}
	feat_threadpool_free(p);
}
END_TEST

START_TEST(test_free_unused)
{
	struct feat_threadpool *p;

	ck_assert_int_eq(feat_threadpool_new(&p, FEAT_POOL_MAX), 0);
	feat_threadpool_free(p);
}
END_TEST

Suite *unit_suite(void)
{
	Suite *s = suite_create("pool");
	TCase *tc = tcase_create("pool");

	tcase_add_test(tc, test_bad_counts);
	tcase_add_test(tc, test_every_index_once);
	tcase_add_test(tc, test_no_pool_inline);
	tcase_add_test(tc, test_back_to_back);
	tcase_add_test(tc, test_after_sleep);
	tcase_add_test(tc, test_free_unused);
	/* only a hang fails by time: Check's 4 s default is a speed test on
	 * a machine whose other core is running a second test */
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}
