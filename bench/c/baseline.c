// The C baseline for bpfkit's benchmark: the same bpf(2) work as the kernel driver, done the
// way a C program would (one attr on the stack per call, no checks), timed with
// CLOCK_MONOTONIC (wall) and CLOCK_THREAD_CPUTIME_ID (this thread's user + system time, which
// a shared, loaded machine disturbs far less). Prints one JSON line per round:
//   {"mode":"lookup","round":0,"ops":100000,"ns_per_op":1234.5,"cpu_ns_per_op":1200.1}
//
// usage: baseline MODE [entries] [rounds] [batch] [map_flags]
//   map_flags   the hash's BPF_MAP_CREATE flags (default 0, pre-allocated): a caller comparing
//               itself with this baseline passes its own map's flags, so both do the same work
//   lookup      single BPF_MAP_LOOKUP_ELEM over every key of a full hash (key 4, value 8)
//   update      single BPF_MAP_UPDATE_ELEM (BPF_ANY) over every existing key
//   walk        BPF_MAP_GET_NEXT_KEY + BPF_MAP_LOOKUP_ELEM over the whole map, per key
//   batch-dump  BPF_MAP_LOOKUP_BATCH of the whole map, `batch` elements per call, per key
//   dump-1m     batch-dump of a 1,000,000-entry hash (entries defaults to 1e6)
//   getppid     the cheapest syscall, `entries` times: the fixed cost of entering the kernel
//   lookup-touch  lookup, reading one byte of each of `batch` pages (2 MiB apart) before every
//               syscall: what a user side with a bigger memory footprint between syscalls pays
//               on a VM where every syscall flushes the TLB (PTI, no PCID)
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

// Attr sizes as libbpf passes them: up to the end of the command's last field.
#define offsetofend(T, f) (offsetof(T, f) + sizeof(((T *)0)->f))
#define ELEM_ATTR_SZ offsetofend(union bpf_attr, flags)
#define BATCH_ATTR_SZ offsetofend(union bpf_attr, batch)
#define CREATE_ATTR_SZ offsetofend(union bpf_attr, map_extra)

static long sys_bpf(int cmd, union bpf_attr *attr, unsigned int size) {
  return syscall(__NR_bpf, cmd, attr, size);
}

static double clock_ns(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void die(const char *what) {
  fprintf(stderr, "baseline: %s: %s\n", what, strerror(errno));
  exit(1);
}

static int map_create(uint32_t entries, uint32_t flags) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.map_type = BPF_MAP_TYPE_HASH;
  a.key_size = 4;
  a.value_size = 8;
  a.max_entries = entries;
  a.map_flags = flags;
  int fd = (int)sys_bpf(BPF_MAP_CREATE, &a, CREATE_ATTR_SZ);
  if (fd < 0) die("BPF_MAP_CREATE");
  return fd;
}

static int elem(int cmd, int fd, const void *key, void *value, uint64_t flags) {
  union bpf_attr a;
  memset(&a, 0, ELEM_ATTR_SZ);
  a.map_fd = (uint32_t)fd;
  a.key = (uint64_t)(uintptr_t)key;
  a.value = (uint64_t)(uintptr_t)value;
  a.flags = flags;
  return (int)sys_bpf(cmd, &a, ELEM_ATTR_SZ);
}

/** Fills keys 0..n-1 with value key*3, in batches (the setup is not timed). */
static void populate(int fd, uint32_t n) {
  const uint32_t chunk = 65536;
  uint32_t *keys = malloc(chunk * 4);
  uint64_t *values = malloc(chunk * 8);
  for (uint32_t start = 0; start < n; start += chunk) {
    uint32_t c = n - start < chunk ? n - start : chunk;
    for (uint32_t i = 0; i < c; i++) {
      keys[i] = start + i;
      values[i] = (uint64_t)(start + i) * 3;
    }
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.batch.keys = (uint64_t)(uintptr_t)keys;
    a.batch.values = (uint64_t)(uintptr_t)values;
    a.batch.count = c;
    a.batch.map_fd = (uint32_t)fd;
    if (sys_bpf(BPF_MAP_UPDATE_BATCH, &a, BATCH_ATTR_SZ) < 0) die("BPF_MAP_UPDATE_BATCH");
  }
  free(keys);
  free(values);
}

static void report(const char *mode, int round, long ops, double ns, double cpu_ns) {
  printf("{\"mode\":\"%s\",\"round\":%d,\"ops\":%ld,\"ns_per_op\":%.2f,\"cpu_ns_per_op\":%.2f}\n",
         mode, round, ops, ns / (double)ops, cpu_ns / (double)ops);
  fflush(stdout);
}

static long run_lookup(int fd, uint32_t n) {
  uint64_t v;
  for (uint32_t k = 0; k < n; k++) {
    if (elem(BPF_MAP_LOOKUP_ELEM, fd, &k, &v, 0) < 0) die("BPF_MAP_LOOKUP_ELEM");
  }
  return n;
}

static long run_update(int fd, uint32_t n) {
  for (uint32_t k = 0; k < n; k++) {
    uint64_t v = k;
    if (elem(BPF_MAP_UPDATE_ELEM, fd, &k, &v, BPF_ANY) < 0) die("BPF_MAP_UPDATE_ELEM");
  }
  return n;
}

#define TOUCH_STRIDE ((size_t)2 << 20)

static long run_lookup_touch(int fd, uint32_t n, const volatile char *pages, uint32_t count) {
  uint64_t v;
  for (uint32_t k = 0; k < n; k++) {
    for (uint32_t i = 0; i < count; i++) (void)pages[i * TOUCH_STRIDE];
    if (elem(BPF_MAP_LOOKUP_ELEM, fd, &k, &v, 0) < 0) die("BPF_MAP_LOOKUP_ELEM");
  }
  return n;
}

static long run_getppid(uint32_t n) {
  for (uint32_t i = 0; i < n; i++) getppid();
  return n;
}

static long run_walk(int fd) {
  uint32_t key, next;
  uint64_t v;
  long seen = 0;
  void *prev = NULL;
  for (;;) {
    if (elem(BPF_MAP_GET_NEXT_KEY, fd, prev, &next, 0) < 0) {
      if (errno == ENOENT) break;
      die("BPF_MAP_GET_NEXT_KEY");
    }
    if (elem(BPF_MAP_LOOKUP_ELEM, fd, &next, &v, 0) < 0 && errno != ENOENT) die("BPF_MAP_LOOKUP_ELEM");
    key = next;
    prev = &key;
    seen++;
  }
  return seen;
}

static long run_batch(int fd, uint32_t batch, uint32_t *keys, uint64_t *values) {
  uint32_t token = 0;
  long seen = 0;
  int first = 1;
  for (;;) {
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.batch.in_batch = first ? 0 : (uint64_t)(uintptr_t)&token;
    a.batch.out_batch = (uint64_t)(uintptr_t)&token;
    a.batch.keys = (uint64_t)(uintptr_t)keys;
    a.batch.values = (uint64_t)(uintptr_t)values;
    a.batch.count = batch;
    a.batch.map_fd = (uint32_t)fd;
    long r = sys_bpf(BPF_MAP_LOOKUP_BATCH, &a, BATCH_ATTR_SZ);
    seen += a.batch.count;
    if (r < 0) {
      if (errno == ENOENT) break;
      die("BPF_MAP_LOOKUP_BATCH");
    }
    first = 0;
  }
  return seen;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s lookup|update|walk|batch-dump|dump-1m|getppid|lookup-touch [entries] [rounds] [batch] [map_flags]\n", argv[0]);
    return 2;
  }
  const char *mode = argv[1];
  int big = strcmp(mode, "dump-1m") == 0;
  uint32_t n = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : (big ? 1000000u : 100000u);
  int rounds = argc > 3 ? atoi(argv[3]) : 5;
  uint32_t batch = argc > 4 ? (uint32_t)strtoul(argv[4], NULL, 10) : 8192u;
  uint32_t flags = argc > 5 ? (uint32_t)strtoul(argv[5], NULL, 0) : 0u;
  int fd = map_create(n, flags);
  populate(fd, n);
  uint32_t *keys = malloc((size_t)batch * 4);
  uint64_t *values = malloc((size_t)batch * 8);
  volatile char *pages = NULL;
  if (strcmp(mode, "lookup-touch") == 0 && batch > 0) {
    pages = mmap(NULL, batch * TOUCH_STRIDE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (pages == MAP_FAILED) die("mmap");
    for (uint32_t i = 0; i < batch; i++) pages[i * TOUCH_STRIDE] = 1;
  }
  for (int round = 0; round < rounds; round++) {
    double t0 = clock_ns(CLOCK_MONOTONIC), c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    long ops;
    if (strcmp(mode, "lookup") == 0) ops = run_lookup(fd, n);
    else if (strcmp(mode, "update") == 0) ops = run_update(fd, n);
    else if (strcmp(mode, "getppid") == 0) ops = run_getppid(n);
    else if (strcmp(mode, "lookup-touch") == 0) ops = run_lookup_touch(fd, n, pages, batch);
    else if (strcmp(mode, "walk") == 0) ops = run_walk(fd);
    else if (strcmp(mode, "batch-dump") == 0 || big) ops = run_batch(fd, batch, keys, values);
    else {
      fprintf(stderr, "baseline: unknown mode %s\n", mode);
      return 2;
    }
    double t1 = clock_ns(CLOCK_MONOTONIC), c1 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    if (ops != (long)n) {
      fprintf(stderr, "baseline: %s saw %ld of %u entries\n", mode, ops, n);
      return 1;
    }
    report(mode, round, ops, t1 - t0, c1 - c0);
  }
  free(keys);
  free(values);
  close(fd);
  return 0;
}
