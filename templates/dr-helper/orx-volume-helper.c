// orx-volume-helper: reads and writes a Docker volume for `orx dr`, inside a helper
// container with no network, a read-only root and only the capabilities its mode needs.
// The volume's contents were written by an agent: an adversary. Nothing here ever follows
// a link: every path is resolved one component at a time with openat(O_NOFOLLOW) from the
// mount's directory descriptor, and symlinks are read and written as text.
//
//   orx-volume-helper scan                   stdout: report lines (see scan())
//   orx-volume-helper pack [--skip-special]  stdout: a POSIX pax tar of the volume
//   orx-volume-helper unpack                 stdin: such a tar, written into the empty volume
//   --pipe PATH: the tar goes to (pack) or comes from (unpack) the FIFO at PATH instead of
//   stdout/stdin: a pipe orx made on the host and bind-mounted in, so the data does not go
//   through the engine's attach stream (which copies it several times)
//
// The tar (what orx's TarDigest and restorability check read, see src/dr/):
// - every entry has a pax header: path (raw bytes), linkpath, uid, gid, mtime (ns);
//   paths start with "./" ("./" itself is the volume's root), directories end in "/"
// - files with holes are GNU sparse 1.0 entries (GNU.sparse.major=1, minor=0, name,
//   realsize; the data starts with the map "count\n(offset\nlength\n)*" padded to 512)
// - the second and later names of a hard-linked file are type '1' entries naming the first
// - FIFOs, sockets and devices cannot be restored faithfully: pack fails naming them,
//   or leaves them out with --skip-special
// Exit 0: done; 2: refused or failed, the reason on stderr (one line, paths %XX-escaped).
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define MOUNT "/orx-volume"
#define BLOCK 512
#define IO (1 << 20)
#define MAX_DEPTH 4096
#define MAX_REGIONS (16u << 20)

static const char *mode_name = "helper";

// ---------------------------------------------------------------------------------------
// messages
// ---------------------------------------------------------------------------------------

/** Bytes outside 0x21..0x7e and '%' as %XX, as the content digest writes paths. */
static char *esc(const char *s, size_t n) {
  char *out = malloc(n * 3 + 1);
  if (!out) abort();
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c <= 0x20 || c >= 0x7f || c == '%') o += (size_t)sprintf(out + o, "%%%02X", c);
    else out[o++] = (char)c;
  }
  out[o] = 0;
  return out;
}

__attribute__((noreturn, format(printf, 1, 2))) static void die(const char *fmt, ...) {
  char msg[8192];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  dprintf(2, "%s\n", msg);
  _exit(2);
}

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) die("%s: out of memory", mode_name);
  return p;
}

static void *xrealloc(void *p, size_t n) {
  p = realloc(p, n ? n : 1);
  if (!p) die("%s: out of memory", mode_name);
  return p;
}

// ---------------------------------------------------------------------------------------
// a growable byte string (paths are bytes: names may hold anything but '/' and NUL)
// ---------------------------------------------------------------------------------------

typedef struct {
  char *p;
  size_t len, cap;
} str;

static void str_put(str *s, const void *b, size_t n) {
  if (s->len + n + 1 > s->cap) {
    s->cap = (s->len + n + 1) * 2;
    s->p = xrealloc(s->p, s->cap);
  }
  memcpy(s->p + s->len, b, n);
  s->len += n;
  s->p[s->len] = 0;
}

static void str_cat(str *s, const char *z) { str_put(s, z, strlen(z)); }

static void str_fmt(str *s, const char *fmt, ...) {
  char b[128];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(b, sizeof b, fmt, ap);
  va_end(ap);
  str_put(s, b, (size_t)n);
}

// ---------------------------------------------------------------------------------------
// output: one buffer for headers, data written straight through
// ---------------------------------------------------------------------------------------

static char *obuf;
static size_t ofill;

static void write_all(int fd, const char *b, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, b, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      die("%s: cannot write the output: %s", mode_name, strerror(errno));
    }
    b += w;
    n -= (size_t)w;
  }
}

static void out_flush(void) {
  write_all(1, obuf, ofill);
  ofill = 0;
}

static void out(const void *b, size_t n) {
  if (ofill + n > IO) out_flush();
  if (n >= IO) {
    write_all(1, b, n);
    return;
  }
  memcpy(obuf + ofill, b, n);
  ofill += n;
}

static void out_zeros(size_t n) {
  static const char zero[BLOCK];
  while (n > 0) {
    size_t k = n < BLOCK ? n : BLOCK;
    out(zero, k);
    n -= k;
  }
}

static size_t pad(uint64_t n) { return (size_t)((BLOCK - n % BLOCK) % BLOCK); }

// ---------------------------------------------------------------------------------------
// hard links: (dev, ino) -> the first path archived
// ---------------------------------------------------------------------------------------

typedef struct {
  dev_t dev;
  ino_t ino;
  char *path;
  size_t len;
} link_slot;

static link_slot *links;
static size_t links_cap, links_used;

static link_slot *link_find(dev_t dev, ino_t ino, int insert) {
  if (insert && (links_used + 1) * 2 > links_cap) {
    link_slot *old = links;
    size_t oldcap = links_cap;
    links_cap = links_cap ? links_cap * 2 : 1024;
    links = calloc(links_cap, sizeof *links);
    if (!links) die("%s: out of memory", mode_name);
    links_used = 0;
    for (size_t i = 0; i < oldcap; i++)
      if (old[i].path) {
        link_slot *s = link_find(old[i].dev, old[i].ino, 1);
        *s = old[i];
        links_used++;
      }
    free(old);
  }
  if (!links_cap) return NULL;
  size_t h = (size_t)((uint64_t)ino * 0x9E3779B97F4A7C15ull ^ (uint64_t)dev) & (links_cap - 1);
  for (;;) {
    link_slot *s = &links[h];
    if (!s->path) return insert ? s : NULL;
    if (s->dev == dev && s->ino == ino) return s;
    h = (h + 1) & (links_cap - 1);
  }
}

// ---------------------------------------------------------------------------------------
// the walk (scan and pack): sorted by name bytes, lstat only, directories by descriptor
// ---------------------------------------------------------------------------------------

static str path;  // "." then "./a", "./a/b", ...
static int skip_special;

typedef void (*visit_fn)(int dfd, const char *name, struct stat *st);

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static const char *special_kind(mode_t m) {
  if (S_ISFIFO(m)) return "fifo";
  if (S_ISSOCK(m)) return "socket";
  if (S_ISCHR(m)) return "char-device";
  if (S_ISBLK(m)) return "block-device";
  return NULL;
}

static void walk(int dfd, int depth, visit_fn visit, int tolerate_races) {
  if (depth > MAX_DEPTH) die("%s: %s is nested deeper than %d directories", mode_name, esc(path.p, path.len), MAX_DEPTH);
  int d2 = dup(dfd);
  if (d2 < 0) die("%s: %s", mode_name, strerror(errno));
  DIR *d = fdopendir(d2);
  if (!d) die("%s: cannot read directory %s: %s", mode_name, esc(path.p, path.len), strerror(errno));
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *e;
  errno = 0;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    if (n == cap) names = xrealloc(names, (cap = cap ? cap * 2 : 64) * sizeof *names);
    names[n] = strdup(e->d_name);
    if (!names[n++]) die("%s: out of memory", mode_name);
  }
  if (errno) die("%s: cannot read directory %s: %s", mode_name, esc(path.p, path.len), strerror(errno));
  closedir(d);
  qsort(names, n, sizeof *names, cmp_names);
  for (size_t i = 0; i < n; i++) {
    size_t keep = path.len;
    str_cat(&path, "/");
    str_cat(&path, names[i]);
    struct stat st;
    if (fstatat(dfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
      if (!(tolerate_races && errno == ENOENT)) die("%s: cannot stat %s: %s", mode_name, esc(path.p, path.len), strerror(errno));
    } else {
      visit(dfd, names[i], &st);
      if (S_ISDIR(st.st_mode)) {
        int cfd = openat(dfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        struct stat cst;
        if (cfd < 0 || fstat(cfd, &cst) < 0 || cst.st_ino != st.st_ino || cst.st_dev != st.st_dev) {
          if (!tolerate_races) die("%s: directory %s changed while being read", mode_name, esc(path.p, path.len));
        } else walk(cfd, depth + 1, visit, tolerate_races);
        if (cfd >= 0) close(cfd);
      }
    }
    path.len = keep;
    path.p[keep] = 0;
    free(names[i]);
  }
  free(names);
}

static int open_root(void) {
  int fd = open(MOUNT, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) die("%s: cannot open the volume at " MOUNT ": %s", mode_name, strerror(errno));
  return fd;
}

// ---------------------------------------------------------------------------------------
// scan: runs before any agent is paused
//   special <kind> <escaped path>     (the first 100)
//   apparent <bytes>                  regular files' sizes, each inode once
//   allocated <bytes>                 blocks in use
//   entries <n>
//   specials <n>
// ---------------------------------------------------------------------------------------

static uint64_t apparent, allocated, entries, specials;

static void scan_visit(int dfd, const char *name, struct stat *st) {
  (void)dfd;
  (void)name;
  entries++;
  allocated += (uint64_t)st->st_blocks * 512;
  const char *kind = special_kind(st->st_mode);
  if (kind) {
    if (specials++ < 100) dprintf(1, "special %s %s\n", kind, esc(path.p, path.len));
    return;
  }
  if (!S_ISREG(st->st_mode)) return;
  if (st->st_nlink > 1) {
    if (link_find(st->st_dev, st->st_ino, 0)) return;
    link_slot *s = link_find(st->st_dev, st->st_ino, 1);
    *s = (link_slot){st->st_dev, st->st_ino, "", 0};
    links_used++;
  }
  apparent += (uint64_t)st->st_size;
}

static int scan(void) {
  int root = open_root();
  str_cat(&path, ".");
  walk(root, 0, scan_visit, 1);
  dprintf(1, "apparent %llu\nallocated %llu\nentries %llu\nspecials %llu\n", (unsigned long long)apparent, (unsigned long long)allocated, (unsigned long long)entries, (unsigned long long)specials);
  return 0;
}

// ---------------------------------------------------------------------------------------
// pack
// ---------------------------------------------------------------------------------------

static void pax_record(str *s, const char *key, const char *val, size_t vlen) {
  size_t body = 1 + strlen(key) + 1 + vlen + 1;  // " key=value\n"
  size_t len = body + 1;
  for (;;) {
    char digits[32];
    size_t d = (size_t)snprintf(digits, sizeof digits, "%zu", len);
    if (d + body == len) break;
    len = d + body;
  }
  str_fmt(s, "%zu ", len);
  str_cat(s, key);
  str_cat(s, "=");
  str_put(s, val, vlen);
  str_cat(s, "\n");
}

static void pax_num(str *s, const char *key, unsigned long long v) {
  char b[32];
  pax_record(s, key, b, (size_t)snprintf(b, sizeof b, "%llu", v));
}

static void octal(char *field, size_t len, unsigned long long v) {
  // values that do not fit are carried by the pax header; the field says 0
  unsigned long long max = 1ull << (3 * (len - 1));
  snprintf(field, len, "%0*llo", (int)(len - 1), v < max ? v : 0);
}

static void ustar(const char *name, size_t nlen, char type, unsigned mode, unsigned long long uid, unsigned long long gid, unsigned long long size, long long mtime, const char *link, size_t llen) {
  char h[BLOCK];
  memset(h, 0, sizeof h);
  memcpy(h, name, nlen < 100 ? nlen : 100);
  octal(h + 100, 8, mode & 07777);
  octal(h + 108, 8, uid);
  octal(h + 116, 8, gid);
  octal(h + 124, 12, size);
  octal(h + 136, 12, mtime < 0 ? 0 : (unsigned long long)mtime);
  memset(h + 148, ' ', 8);
  h[156] = type;
  if (link) memcpy(h + 157, link, llen < 100 ? llen : 100);
  memcpy(h + 257, "ustar\0" "00", 8);
  unsigned sum = 0;
  for (int i = 0; i < BLOCK; i++) sum += (unsigned char)h[i];
  snprintf(h + 148, 8, "%06o", sum);
  out(h, BLOCK);
}

typedef struct {
  uint64_t off, len;
} region;

/** One entry: its pax header, then its ustar header. `stored` is the data that follows. */
static void entry(char type, struct stat *st, const char *p, size_t plen, const char *link, size_t llen, uint64_t stored, const region *map) {
  str pax = {0};
  pax_record(&pax, "path", p, plen);
  if (link) pax_record(&pax, "linkpath", link, llen);
  pax_num(&pax, "uid", (unsigned long long)st->st_uid);
  pax_num(&pax, "gid", (unsigned long long)st->st_gid);
  char mt[64];
  pax_record(&pax, "mtime", mt, (size_t)snprintf(mt, sizeof mt, "%lld.%09ld", (long long)st->st_mtim.tv_sec, (long)st->st_mtim.tv_nsec));
  pax_num(&pax, "size", stored);
  if (map) {
    pax_num(&pax, "GNU.sparse.major", 1);
    pax_num(&pax, "GNU.sparse.minor", 0);
    pax_record(&pax, "GNU.sparse.name", p, plen);
    pax_num(&pax, "GNU.sparse.realsize", (unsigned long long)st->st_size);
  }
  ustar("./@PaxHeader", 12, 'x', 0644, 0, 0, pax.len, st->st_mtim.tv_sec, NULL, 0);
  out(pax.p, pax.len);
  out_zeros(pad(pax.len));
  free(pax.p);
  ustar(p, plen, type, st->st_mode, st->st_uid, st->st_gid, stored, st->st_mtim.tv_sec, link, llen);
}

static char *dbuf;

static void copy_range(int fd, uint64_t off, uint64_t len) {
  out_flush();
  while (len > 0) {
    size_t want = len < IO ? (size_t)len : IO;
    ssize_t r = pread(fd, dbuf, want, (off_t)off);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) die("pack: cannot read %s: %s", esc(path.p, path.len), strerror(errno));
    if (r == 0) die("pack: %s shrank while being read (is something still writing to the volume?)", esc(path.p, path.len));
    write_all(1, dbuf, (size_t)r);
    off += (uint64_t)r;
    len -= (uint64_t)r;
  }
}

/** Data regions by SEEK_DATA/SEEK_HOLE; NULL (with *n = 0) when the file has no holes. */
static region *regions(int fd, uint64_t size, size_t *n) {
  *n = 0;
  region *map = NULL;
  size_t cap = 0;
  uint64_t pos = 0;
  while (pos < size) {
    off_t d = lseek(fd, (off_t)pos, SEEK_DATA);
    if (d < 0 && errno == ENXIO) break;
    if (d < 0) {
      if (errno == EINVAL || errno == EOPNOTSUPP) break;  // no hole support: all data
      die("pack: cannot seek in %s: %s", esc(path.p, path.len), strerror(errno));
    }
    if ((uint64_t)d >= size) break;
    off_t h = lseek(fd, d, SEEK_HOLE);
    if (h < 0) die("pack: cannot seek in %s: %s", esc(path.p, path.len), strerror(errno));
    uint64_t end = (uint64_t)h < size ? (uint64_t)h : size;
    if (*n == cap) map = xrealloc(map, (cap = cap ? cap * 2 : 16) * sizeof *map);
    if (*n >= MAX_REGIONS) die("pack: %s has more than %u data regions", esc(path.p, path.len), MAX_REGIONS);
    map[(*n)++] = (region){(uint64_t)d, end - (uint64_t)d};
    pos = end;
  }
  if (*n == 1 && map[0].off == 0 && map[0].len == size) {
    free(map);
    *n = 0;
    return NULL;
  }
  // the last region marks the end when the file ends in a hole (as GNU tar writes it)
  if (*n == cap) map = xrealloc(map, (cap + 1) * sizeof *map);
  if (*n == 0 || map[*n - 1].off + map[*n - 1].len < size) map[(*n)++] = (region){size, 0};
  return map;
}

static void pack_file(int dfd, const char *name, struct stat *st) {
  int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  struct stat fst;
  if (fd < 0 || fstat(fd, &fst) < 0) die("pack: cannot open %s: %s", esc(path.p, path.len), strerror(errno));
  if (!S_ISREG(fst.st_mode) || fst.st_ino != st->st_ino || fst.st_dev != st->st_dev) die("pack: %s changed while being read", esc(path.p, path.len));
  uint64_t size = (uint64_t)st->st_size;
  size_t n = 0;
  // a file with as many blocks as bytes has no holes: no need to ask
  region *map = (uint64_t)st->st_blocks * 512 < size ? regions(fd, size, &n) : NULL;
  if (!map) {
    entry('0', st, path.p, path.len, NULL, 0, size, NULL);
    copy_range(fd, 0, size);
    out_zeros(pad(size));
  } else {
    str m = {0};
    uint64_t data = 0;
    str_fmt(&m, "%zu\n", n);
    for (size_t i = 0; i < n; i++) {
      str_fmt(&m, "%llu\n%llu\n", (unsigned long long)map[i].off, (unsigned long long)map[i].len);
      data += map[i].len;
    }
    size_t mpad = pad(m.len);
    entry('0', st, path.p, path.len, NULL, 0, m.len + mpad + data, map);
    out(m.p, m.len);
    out_zeros(mpad);
    for (size_t i = 0; i < n; i++) copy_range(fd, map[i].off, map[i].len);
    out_zeros(pad(m.len + mpad + data));
    free(m.p);
    free(map);
  }
  close(fd);
}

static void pack_visit(int dfd, const char *name, struct stat *st) {
  const char *kind = special_kind(st->st_mode);
  if (kind) {
    if (skip_special) return;
    die("pack: cannot back up %s: a %s cannot be restored faithfully (set dr.skip_special: true to leave such entries out)", esc(path.p, path.len), kind);
  }
  if (S_ISDIR(st->st_mode)) {
    size_t keep = path.len;
    str_cat(&path, "/");
    entry('5', st, path.p, path.len, NULL, 0, 0, NULL);
    path.len = keep;
    path.p[keep] = 0;
  } else if (S_ISLNK(st->st_mode)) {
    size_t cap = (size_t)st->st_size + 2;
    for (;;) {
      char *t = xmalloc(cap);
      ssize_t r = readlinkat(dfd, name, t, cap);
      if (r < 0) die("pack: cannot read symlink %s: %s", esc(path.p, path.len), strerror(errno));
      if ((size_t)r < cap) {
        entry('2', st, path.p, path.len, t, (size_t)r, 0, NULL);
        free(t);
        break;
      }
      free(t);
      cap *= 2;
    }
  } else if (S_ISREG(st->st_mode)) {
    if (st->st_nlink > 1) {
      link_slot *s = link_find(st->st_dev, st->st_ino, 0);
      if (s) {
        entry('1', st, path.p, path.len, s->path, s->len, 0, NULL);
        return;
      }
      s = link_find(st->st_dev, st->st_ino, 1);
      *s = (link_slot){st->st_dev, st->st_ino, xmalloc(path.len + 1), path.len};
      memcpy(s->path, path.p, path.len + 1);
      links_used++;
    }
    pack_file(dfd, name, st);
  } else {
    die("pack: cannot back up %s: unknown file type %o", esc(path.p, path.len), (unsigned)(st->st_mode & S_IFMT));
  }
}

static int pack(void) {
  obuf = xmalloc(IO);
  dbuf = xmalloc(IO);
  int root = open_root();
  struct stat st;
  if (fstat(root, &st) < 0) die("pack: cannot stat the volume: %s", strerror(errno));
  str_cat(&path, ".");
  entry('5', &st, "./", 2, NULL, 0, 0, NULL);
  walk(root, 0, pack_visit, 0);
  out_zeros(2 * BLOCK);
  out_flush();
  return 0;
}

// ---------------------------------------------------------------------------------------
// unpack
// ---------------------------------------------------------------------------------------

static char *ibuf;
static size_t ipos, iend;
static uint64_t consumed;

static size_t in_fill(void) {
  if (ipos < iend) return iend - ipos;
  ipos = iend = 0;
  for (;;) {
    ssize_t r = read(0, ibuf, IO);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) die("unpack: cannot read the archive: %s", strerror(errno));
    iend = (size_t)r;
    return iend;
  }
}

/** Exactly n bytes of the archive into dst (NULL: skipped). */
static void in_read(void *dst, uint64_t n) {
  while (n > 0) {
    size_t avail = in_fill();
    if (!avail) die("unpack: the archive ends early");
    size_t k = avail < n ? avail : (size_t)n;
    if (dst) {
      memcpy(dst, ibuf + ipos, k);
      dst = (char *)dst + k;
    }
    ipos += k;
    n -= k;
    consumed += k;
  }
}

typedef struct {
  str path, link, sparse_name;
  int has_path, has_link, has_sparse_name;
  unsigned long long size, uid, gid, realsize, major, minor;
  int has_size, has_uid, has_gid, has_realsize, has_major, has_minor;
  long long mtime_s;
  long mtime_ns;
  int has_mtime;
} attrs;

static void attrs_reset(attrs *a) {
  str p = a->path, l = a->link, s = a->sparse_name;
  memset(a, 0, sizeof *a);
  p.len = l.len = s.len = 0;
  a->path = p;
  a->link = l;
  a->sparse_name = s;
}

static unsigned long long parse_dec(const char *v, size_t n, const char *key) {
  unsigned long long x = 0;
  if (n == 0 || n > 19) die("unpack: bad pax %s", key);
  for (size_t i = 0; i < n; i++) {
    if (v[i] < '0' || v[i] > '9') die("unpack: bad pax %s", key);
    x = x * 10 + (unsigned)(v[i] - '0');
  }
  return x;
}

static void parse_mtime(attrs *a, const char *v, size_t n) {
  size_t i = 0;
  int neg = 0;
  if (n && v[0] == '-') neg = 1, i = 1;
  size_t dot = i;
  while (dot < n && v[dot] != '.') dot++;
  long long s = (long long)parse_dec(v + i, dot - i, "mtime");
  long ns = 0;
  int digits = 0;
  for (size_t j = dot + 1; j < n && digits < 9; j++, digits++) {
    if (v[j] < '0' || v[j] > '9') die("unpack: bad pax mtime");
    ns = ns * 10 + (v[j] - '0');
  }
  while (digits++ < 9) ns *= 10;
  if (neg) {
    s = -s;
    if (ns) s -= 1, ns = 1000000000L - ns;
  }
  a->mtime_s = s;
  a->mtime_ns = ns;
  a->has_mtime = 1;
}

static void parse_pax(attrs *a, const char *b, size_t n) {
  size_t pos = 0;
  while (pos < n) {
    size_t sp = pos;
    size_t len = 0;
    while (sp < n && b[sp] >= '0' && b[sp] <= '9') len = len * 10 + (size_t)(b[sp++] - '0');
    if (sp >= n || b[sp] != ' ' || len <= sp - pos + 1 || pos + len > n || b[pos + len - 1] != '\n') die("unpack: bad pax record");
    const char *k = b + sp + 1;
    const char *end = b + pos + len - 1;
    const char *eq = memchr(k, '=', (size_t)(end - k));
    pos += len;
    if (!eq) continue;
    size_t klen = (size_t)(eq - k);
    const char *v = eq + 1;
    size_t vlen = (size_t)(end - v);
#define KEY(s) (klen == sizeof(s) - 1 && !memcmp(k, s, klen))
    if (KEY("path")) a->path.len = 0, str_put(&a->path, v, vlen), a->has_path = 1;
    else if (KEY("linkpath")) a->link.len = 0, str_put(&a->link, v, vlen), a->has_link = 1;
    else if (KEY("GNU.sparse.name")) a->sparse_name.len = 0, str_put(&a->sparse_name, v, vlen), a->has_sparse_name = 1;
    else if (KEY("size")) a->size = parse_dec(v, vlen, "size"), a->has_size = 1;
    else if (KEY("uid")) a->uid = parse_dec(v, vlen, "uid"), a->has_uid = 1;
    else if (KEY("gid")) a->gid = parse_dec(v, vlen, "gid"), a->has_gid = 1;
    else if (KEY("mtime")) parse_mtime(a, v, vlen);
    else if (KEY("GNU.sparse.major")) a->major = parse_dec(v, vlen, "GNU.sparse.major"), a->has_major = 1;
    else if (KEY("GNU.sparse.minor")) a->minor = parse_dec(v, vlen, "GNU.sparse.minor"), a->has_minor = 1;
    else if (KEY("GNU.sparse.realsize")) a->realsize = parse_dec(v, vlen, "GNU.sparse.realsize"), a->has_realsize = 1;
    else if (klen > 10 && !memcmp(k, "GNU.sparse", 10)) die("unpack: unsupported sparse format (pax %.*s)", (int)klen, k);
#undef KEY
  }
}

static unsigned long long num(const char *f, size_t len) {
  unsigned char c0 = (unsigned char)f[0];
  if (c0 & 0x80) {
    if (c0 & 0x40) die("unpack: negative number in a tar header");
    unsigned long long v = c0 & 0x3f;
    for (size_t i = 1; i < len; i++) {
      if (v >> 55) die("unpack: number too large in a tar header");
      v = (v << 8) | (unsigned char)f[i];
    }
    return v;
  }
  unsigned long long v = 0;
  size_t i = 0;
  while (i < len && f[i] == ' ') i++;
  for (; i < len && f[i] >= '0' && f[i] <= '7'; i++) v = v * 8 + (unsigned)(f[i] - '0');
  for (; i < len; i++)
    if (f[i] != ' ' && f[i] != 0) die("unpack: bad number in a tar header");
  return v;
}

typedef struct {
  char *path;
  unsigned mode;
  unsigned long long uid, gid;
  long long mtime_s;
  long mtime_ns;
  int has_mtime;
} dir_fix;

static dir_fix *dirs;
static size_t ndirs, dirs_cap;
static int root_fd;
static int root_seen;

/**
 * Volume-relative path: the first component dropped; refused if it could leave the volume.
 * Messages name the entry being read (path); `subject` says when p is its link target.
 */
static char *relative(const char *p, size_t n, const char *subject) {
  char *e = esc(path.p, path.len);
  if (memchr(p, 0, n)) die("unpack: refused %s: %sthe path holds a NUL byte", e, subject);
  if (n == 0) die("unpack: refused %s: %san empty path", e, subject);
  if (p[0] == '/') die("unpack: refused %s: %san absolute path", e, subject);
  while (n > 0 && p[n - 1] == '/') n--;
  const char *slash = memchr(p, '/', n);
  size_t first = slash ? (size_t)(slash - p) : n;
  if ((first == 2 && !memcmp(p, "..", 2)) || first == 0) die("unpack: refused %s: %sit leaves the volume", e, subject);
  const char *rest = slash ? slash + 1 : p + n;
  size_t rlen = (size_t)(p + n - rest);
  // every component after the first must be a plain name
  size_t start = 0;
  for (size_t i = 0; i <= rlen; i++) {
    if (i == rlen || rest[i] == '/') {
      size_t cl = i - start;
      if (rlen && (cl == 0 || (cl == 1 && rest[start] == '.') || (cl == 2 && !memcmp(rest + start, "..", 2))))
        die("unpack: refused %s: %sit has an empty, \".\" or \"..\" component", e, subject);
      start = i + 1;
    }
  }
  free(e);
  char *r = xmalloc(rlen + 1);
  memcpy(r, rest, rlen);
  r[rlen] = 0;
  return r;
}

static str cached_parent;
static int cached_fd = -1;

/** The directory holding `rel`, resolved component by component without following links. */
static int parent_of(const char *rel, const char **name) {
  const char *slash = strrchr(rel, '/');
  *name = slash ? slash + 1 : rel;
  size_t plen = slash ? (size_t)(slash - rel) : 0;
  if (plen == 0) return root_fd;
  if (cached_fd >= 0 && cached_parent.len == plen && !memcmp(cached_parent.p, rel, plen)) return cached_fd;
  if (cached_fd >= 0) close(cached_fd);
  cached_fd = -1;
  int fd = root_fd;
  const char *c = rel;
  while (c < rel + plen) {
    const char *e = memchr(c, '/', (size_t)(rel + plen - c));
    if (!e) e = rel + plen;
    char comp[4096];
    size_t cl = (size_t)(e - c);
    if (cl >= sizeof comp) die("unpack: a name in %s is too long", esc(path.p, path.len));
    memcpy(comp, c, cl);
    comp[cl] = 0;
    int next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0) {
      char *er = esc(path.p, path.len);
      if (errno == ELOOP || errno == ENOTDIR) die("unpack: refused %s: its parent path passes through a symlink or a file", er);
      if (errno == ENOENT) die("unpack: refused %s: its directory is not in the archive before it", er);
      die("unpack: cannot open the directory of %s: %s", er, strerror(errno));
    }
    if (fd != root_fd) close(fd);
    fd = next;
    c = e + 1;
  }
  cached_parent.len = 0;
  str_put(&cached_parent, rel, plen);
  cached_fd = fd;
  return fd;
}

static void set_times(int dfd, const char *name, int fd, attrs *a) {
  if (!a->has_mtime) return;
  struct timespec ts[2] = {{0, UTIME_OMIT}, {a->mtime_s, a->mtime_ns}};
  int r = fd >= 0 ? futimens(fd, ts) : utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW);
  if (r < 0) die("unpack: cannot set the mtime of %s: %s", esc(path.p, path.len), strerror(errno));
}

static void write_all_at(int fd, const char *b, size_t n, uint64_t off) {
  while (n > 0) {
    ssize_t w = pwrite(fd, b, n, (off_t)off);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) die("unpack: cannot write %s: %s", esc(path.p, path.len), strerror(errno));
    b += w;
    n -= (size_t)w;
    off += (uint64_t)w;
  }
}

/** Copies len bytes of the archive into fd at off. */
static void in_copy(int fd, uint64_t off, uint64_t len) {
  while (len > 0) {
    size_t avail = in_fill();
    if (!avail) die("unpack: the archive ends early");
    size_t k = avail < len ? avail : (size_t)len;
    write_all_at(fd, ibuf + ipos, k, off);
    ipos += k;
    consumed += k;
    off += k;
    len -= k;
  }
}

static unsigned long long map_number(uint64_t *left) {
  unsigned long long v = 0;
  int digits = 0;
  for (;;) {
    char c;
    if (*left == 0) die("unpack: the sparse map of %s is cut short", esc(path.p, path.len));
    in_read(&c, 1);
    (*left)--;
    if (c == '\n') break;
    if (c < '0' || c > '9' || ++digits > 19) die("unpack: bad sparse map in %s", esc(path.p, path.len));
    v = v * 10 + (unsigned)(c - '0');
  }
  if (!digits) die("unpack: bad sparse map in %s", esc(path.p, path.len));
  return v;
}

static void unpack_file(int dfd, const char *name, attrs *a, unsigned mode, uint64_t stored) {
  int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) die("unpack: cannot create %s: %s", esc(path.p, path.len), errno == EEXIST ? "it appears twice in the archive" : strerror(errno));
  if (a->has_major || a->has_minor || a->has_realsize) {
    if (!(a->has_major && a->major == 1 && a->has_minor && a->minor == 0 && a->has_realsize)) die("unpack: %s: unsupported sparse format", esc(path.p, path.len));
    uint64_t left = stored;
    unsigned long long n = map_number(&left);
    if (n > MAX_REGIONS) die("unpack: %s: too many sparse regions", esc(path.p, path.len));
    region *map = xmalloc((size_t)n * sizeof *map);
    uint64_t data = 0, prev = 0;
    for (unsigned long long i = 0; i < n; i++) {
      map[i].off = map_number(&left);
      map[i].len = map_number(&left);
      if (map[i].off < prev || map[i].len > a->realsize || map[i].off > a->realsize - map[i].len) die("unpack: %s: its sparse map is out of order or past its size", esc(path.p, path.len));
      prev = map[i].off + map[i].len;
      data += map[i].len;
    }
    uint64_t mpad = pad(stored - left);
    if (left < mpad || left - mpad != data) die("unpack: %s: its sparse map does not match its data", esc(path.p, path.len));
    in_read(NULL, mpad);
    for (unsigned long long i = 0; i < n; i++) in_copy(fd, map[i].off, map[i].len);
    if (ftruncate(fd, (off_t)a->realsize) < 0) die("unpack: cannot size %s: %s", esc(path.p, path.len), strerror(errno));
    free(map);
  } else {
    in_copy(fd, 0, stored);
  }
  in_read(NULL, pad(stored));
  // owner before mode (chown clears set-id bits), mode last of the writes, then the time
  if (fchown(fd, (uid_t)a->uid, (gid_t)a->gid) < 0) die("unpack: cannot chown %s: %s", esc(path.p, path.len), strerror(errno));
  if (fchmod(fd, mode) < 0) die("unpack: cannot chmod %s: %s", esc(path.p, path.len), strerror(errno));
  set_times(-1, NULL, fd, a);
  if (close(fd) < 0) die("unpack: cannot write %s: %s", esc(path.p, path.len), strerror(errno));
}

static int unpack(void) {
  ibuf = xmalloc(IO);
  root_fd = open_root();
  {
    DIR *d = fdopendir(dup(root_fd));
    struct dirent *e;
    while (d && (e = readdir(d)))
      if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) die("unpack: the target volume is not empty");
    if (d) closedir(d);
  }
  attrs a = {0};
  int zeros = 0;
  char h[BLOCK];
  for (;;) {
    uint64_t at = consumed;
    if (!in_fill()) {
      if (zeros) break;  // one zero block then EOF: accepted as GNU tar does
      die("unpack: the archive ends without its end marker");
    }
    in_read(h, BLOCK);
    int zero = 1;
    for (int i = 0; i < BLOCK; i++)
      if (h[i]) {
        zero = 0;
        break;
      }
    if (zero) {
      if (++zeros == 2) break;
      continue;
    }
    zeros = 0;
    unsigned sum = 0;
    for (int i = 0; i < BLOCK; i++) sum += (i >= 148 && i < 156) ? ' ' : (unsigned char)h[i];
    if (sum != num(h + 148, 8)) die("unpack: bad tar header checksum at byte %llu", (unsigned long long)at);
    char type = h[156] ? h[156] : '0';
    uint64_t size = num(h + 124, 12);
    if (type == 'x' || type == 'L' || type == 'K') {
      if (size > (16u << 20)) die("unpack: a %c header of %llu bytes", type, (unsigned long long)size);
      char *b = xmalloc((size_t)size + 1);
      in_read(b, size);
      in_read(NULL, pad(size));
      b[size] = 0;
      if (type == 'x') parse_pax(&a, b, (size_t)size);
      else {
        str *s = type == 'L' ? &a.path : &a.link;
        s->len = 0;
        str_put(s, b, strnlen(b, (size_t)size));
        if (type == 'L') a.has_path = 1;
        else a.has_link = 1;
      }
      free(b);
      continue;
    }
    if (type == 'g') die("unpack: a global pax header: not something orx or the engine writes");
    if (a.has_size) size = a.size;
    if (!a.has_uid) a.uid = num(h + 108, 8);
    if (!a.has_gid) a.gid = num(h + 116, 8);
    if (!a.has_mtime) a.mtime_s = (long long)num(h + 136, 12), a.mtime_ns = 0, a.has_mtime = 1;
    unsigned mode = (unsigned)num(h + 100, 8) & 07777;
    str name = {0};
    if (a.has_sparse_name) str_put(&name, a.sparse_name.p, a.sparse_name.len);
    else if (a.has_path) str_put(&name, a.path.p, a.path.len);
    else {
      int is_ustar = !memcmp(h + 257, "ustar", 5);
      if (is_ustar && h[345]) {
        str_put(&name, h + 345, strnlen(h + 345, 155));
        str_cat(&name, "/");
      }
      str_put(&name, h, strnlen(h, 100));
    }
    path.len = 0;
    str_put(&path, name.p, name.len);
    char *rel = relative(name.p, name.len, "");
    free(name.p);
    if (rel[0] == 0) {
      if (type != '5') die("unpack: refused %s: the volume's root must be a directory", esc(path.p, path.len));
      if (root_seen++) die("unpack: the volume's root appears twice in the archive");
    }
    if (type == '5') {
      if (rel[0]) {
        const char *nm;
        int dfd = parent_of(rel, &nm);
        if (mkdirat(dfd, nm, 0700) < 0) die("unpack: cannot create directory %s: %s", esc(path.p, path.len), errno == EEXIST ? "it appears twice in the archive" : strerror(errno));
      }
      // a directory's owner, mode and time are set once everything inside it is written
      if (ndirs == dirs_cap) dirs = xrealloc(dirs, (dirs_cap = dirs_cap ? dirs_cap * 2 : 64) * sizeof *dirs);
      dirs[ndirs++] = (dir_fix){rel, mode, a.uid, a.gid, a.mtime_s, a.mtime_ns, a.has_mtime};
    } else if (type == '0' || type == '7') {
      const char *nm;
      int dfd = parent_of(rel, &nm);
      unpack_file(dfd, nm, &a, mode, size);
      free(rel);
    } else if (type == '2') {
      const char *nm;
      int dfd = parent_of(rel, &nm);
      str *l = &a.link;
      if (!a.has_link) l->len = 0, str_put(l, h + 157, strnlen(h + 157, 100));
      if (l->len == 0 || memchr(l->p, 0, l->len)) die("unpack: refused %s: an empty symlink target", esc(path.p, path.len));
      // the target is text: it is written as it is and never followed
      if (symlinkat(l->p, dfd, nm) < 0) die("unpack: cannot create symlink %s: %s", esc(path.p, path.len), errno == EEXIST ? "it appears twice in the archive" : strerror(errno));
      if (fchownat(dfd, nm, (uid_t)a.uid, (gid_t)a.gid, AT_SYMLINK_NOFOLLOW) < 0) die("unpack: cannot chown %s: %s", esc(path.p, path.len), strerror(errno));
      set_times(dfd, nm, -1, &a);
      free(rel);
    } else if (type == '1') {
      str *l = &a.link;
      if (!a.has_link) l->len = 0, str_put(l, h + 157, strnlen(h + 157, 100));
      char *trel = relative(l->p, l->len, "its hard link target: ");
      if (!trel[0]) die("unpack: refused %s: a hard link to the volume's root", esc(path.p, path.len));
      const char *tn;
      int tfd = parent_of(trel, &tn);
      struct stat tst;
      if (fstatat(tfd, tn, &tst, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(tst.st_mode)) die("unpack: refused %s: its hard link target is not a file earlier in the archive", esc(path.p, path.len));
      // the target's directory descriptor is the cache: keep our own copy while resolving the link's
      int tdup = tfd == root_fd ? root_fd : dup(tfd);
      const char *nm;
      int dfd = parent_of(rel, &nm);
      if (linkat(tdup, tn, dfd, nm, 0) < 0) die("unpack: cannot create hard link %s: %s", esc(path.p, path.len), errno == EEXIST ? "it appears twice in the archive" : strerror(errno));
      if (tdup != root_fd) close(tdup);
      free(trel);
      free(rel);
    } else {
      die("unpack: cannot restore %s: entry type '%c' is not a file, directory or link", esc(path.p, path.len), type);
    }
    attrs_reset(&a);
  }
  if (!root_seen) die("unpack: the archive has no entry for the volume's root");
  if (cached_fd >= 0) close(cached_fd), cached_fd = -1;
  // deepest first (a child is always after its parent), so a read-only parent is set last
  for (size_t i = ndirs; i-- > 0;) {
    dir_fix *d = &dirs[i];
    path.len = 0;
    str_cat(&path, "./");
    str_cat(&path, d->path);
    int fd = root_fd;
    if (d->path[0]) {
      const char *nm;
      int pfd = parent_of(d->path, &nm);
      fd = openat(pfd, nm, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) die("unpack: cannot open directory %s: %s", esc(path.p, path.len), strerror(errno));
    }
    if (fchown(fd, (uid_t)d->uid, (gid_t)d->gid) < 0 || fchmod(fd, d->mode) < 0) die("unpack: cannot set the owner or mode of %s: %s", esc(path.p, path.len), strerror(errno));
    if (d->has_mtime) {
      struct timespec ts[2] = {{0, UTIME_OMIT}, {d->mtime_s, d->mtime_ns}};
      if (futimens(fd, ts) < 0) die("unpack: cannot set the mtime of %s: %s", esc(path.p, path.len), strerror(errno));
    }
    if (fd != root_fd) close(fd);
  }
  // the restored data is on disk before orx removes the volume it replaces
  if (syncfs(root_fd) < 0) die("unpack: cannot sync the volume: %s", strerror(errno));
  return 0;
}

/** Puts the FIFO at `p` in place of stdin (unpack) or stdout (pack). */
static void use_pipe(const char *p, int unpacking) {
  int fd = open(p, (unpacking ? O_RDONLY : O_WRONLY) | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode)) die("%s: cannot open the pipe %s: %s", mode_name, p, fd < 0 ? strerror(errno) : "not a FIFO");
  if (dup2(fd, unpacking ? 0 : 1) < 0) die("%s: %s", mode_name, strerror(errno));
  close(fd);
}

int main(int argc, char **argv) {
  if (argc < 2) die("usage: orx-volume-helper scan | pack [--skip-special] [--pipe PATH] | unpack [--pipe PATH]");
  mode_name = argv[1];
  const char *pipe_path = NULL;
  for (int i = 2; i < argc; i++) {
    if (!strcmp(argv[i], "--skip-special")) skip_special = 1;
    else if (!strcmp(argv[i], "--pipe") && i + 1 < argc) pipe_path = argv[++i];
    else die("%s: unknown option %s", mode_name, argv[i]);
  }
  if (pipe_path) use_pipe(pipe_path, !strcmp(argv[1], "unpack"));
  if (!strcmp(argv[1], "scan")) return scan();
  if (!strcmp(argv[1], "pack")) return pack();
  if (!strcmp(argv[1], "unpack")) return unpack();
  die("unknown mode %s", argv[1]);
}
