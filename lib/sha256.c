/*
 * SHA-256 (FIPS 180-4) for version checksums. The library's own, so that
 * computing a checksum cannot fail: no allocation, no provider to load, no
 * library initialisation that can run out of memory half-way.
 */
#include <stdatomic.h>
#include <string.h>

#include "internal.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>
#define SHA_X86 1
#endif

static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void block(uint32_t h[8], const unsigned char *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, k, t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * (size_t)i] << 24 | (uint32_t)p[4 * (size_t)i + 1] << 16 |
		       (uint32_t)p[4 * (size_t)i + 2] << 8 | (uint32_t)p[4 * (size_t)i + 3];
	for (i = 16; i < 64; i++) {
		uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
	for (i = 0; i < 64; i++) {
		t1 = k + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
		t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		k = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
	}
	h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += k;
}

#ifdef SHA_X86
/*
 * The same blocks through the processor's SHA extensions, where it has
 * them (most x86-64 processors since 2016): an order of magnitude fewer
 * instructions. The state is kept as ABEF and CDGH, as the instructions
 * take it.
 */
__attribute__((target("sha,sse4.1,ssse3"))) static void blocks_x86(uint32_t h[8], const unsigned char *p, size_t n)
{
	const __m128i swap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
	__m128i s0, s1, tmp, w[4], m, abef, cdgh;
	size_t j;

	tmp = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)(const void *)&h[0]), 0xb1); /* CDAB */
	s1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)(const void *)&h[4]), 0x1b);  /* EFGH */
	s0 = _mm_alignr_epi8(tmp, s1, 8);                                                     /* ABEF */
	s1 = _mm_blend_epi16(s1, tmp, 0xf0);                                                  /* CDGH */
	for (; n--; p += 64) {
		abef = s0;
		cdgh = s1;
		for (j = 0; j < 16; j++) {
			if (j < 4) {
				w[j] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + 16 * j)),
							swap);
			} else {
				/* W[t..t+3] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16] */
				tmp = _mm_add_epi32(_mm_sha256msg1_epu32(w[j % 4], w[(j - 3) % 4]),
						    _mm_alignr_epi8(w[(j - 1) % 4], w[(j - 2) % 4], 4));
				w[j % 4] = _mm_sha256msg2_epu32(tmp, w[(j - 1) % 4]);
			}
			m = _mm_add_epi32(w[j % 4], _mm_loadu_si128((const __m128i *)(const void *)&K[4 * j]));
			s1 = _mm_sha256rnds2_epu32(s1, s0, m);
			s0 = _mm_sha256rnds2_epu32(s0, s1, _mm_shuffle_epi32(m, 0x0e));
		}
		s0 = _mm_add_epi32(s0, abef);
		s1 = _mm_add_epi32(s1, cdgh);
	}
	tmp = _mm_shuffle_epi32(s0, 0x1b);   /* FEBA */
	s1 = _mm_shuffle_epi32(s1, 0xb1);    /* DCHG */
	s0 = _mm_blend_epi16(tmp, s1, 0xf0); /* DCBA */
	s1 = _mm_alignr_epi8(s1, tmp, 8);    /* HGFE */
	_mm_storeu_si128((__m128i *)(void *)&h[0], s0);
	_mm_storeu_si128((__m128i *)(void *)&h[4], s1);
}

/* 0 not asked yet, 1 without the extensions, 2 with them. */
static atomic_int x86_sha;

static bool has_x86_sha(void)
{
	int known = atomic_load_explicit(&x86_sha, memory_order_relaxed);
	unsigned a, b, c, d;

	if (known == 0) {
		bool sha = __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 29));
		bool sse = __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 19)) && (c & (1u << 9));
		known = sha && sse ? 2 : 1;
		atomic_store_explicit(&x86_sha, known, memory_order_relaxed);
	}
	return known == 2 && !migrate__sha256_portable;
}
#endif

bool migrate__sha256_portable;

/* n blocks of 64 bytes. */
static void blocks(uint32_t h[8], const unsigned char *p, size_t n)
{
#ifdef SHA_X86
	if (has_x86_sha()) {
		blocks_x86(h, p, n);
		return;
	}
#endif
	for (; n--; p += 64)
		block(h, p);
}

void migrate__sha256_init(migrate__sha256_ctx *c)
{
	static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
				       0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

	memcpy(c->h, h0, sizeof h0);
	c->n = 0;
	c->total = 0;
}

void migrate__sha256_update(migrate__sha256_ctx *c, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t take;

	c->total += len;
	if (c->n > 0) {
		take = 64 - c->n < len ? 64 - c->n : len;
		memcpy(c->buf + c->n, p, take);
		c->n += take;
		p += take;
		len -= take;
		if (c->n < 64)
			return;
		blocks(c->h, c->buf, 1);
		c->n = 0;
	}
	blocks(c->h, p, len / 64);
	p += len / 64 * 64;
	memcpy(c->buf, p, len % 64);
	c->n = len % 64;
}

void migrate__sha256_final(migrate__sha256_ctx *c, unsigned char out[32])
{
	uint64_t bits = c->total * 8;
	unsigned char tail[128];
	size_t n, i;

	/* The last bytes, a 0x80, zeros, and the length in bits: one or two blocks. */
	memset(tail, 0, sizeof tail);
	memcpy(tail, c->buf, c->n);
	tail[c->n] = 0x80;
	n = c->n + 1 + 8 <= 64 ? 64 : 128;
	for (i = 0; i < 8; i++)
		tail[n - 1 - i] = (unsigned char)(bits >> (8 * i));
	blocks(c->h, tail, n / 64);
	for (i = 0; i < 32; i++)
		out[i] = (unsigned char)(c->h[i / 4] >> (24 - 8 * (i % 4)));
}

void migrate__sha256_hex(const void *data, size_t len, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	migrate__sha256_ctx c;
	unsigned char sum[32];
	size_t i;

	migrate__sha256_init(&c);
	migrate__sha256_update(&c, data, len);
	migrate__sha256_final(&c, sum);
	for (i = 0; i < 32; i++) {
		out[2 * i] = hex[sum[i] >> 4];
		out[2 * i + 1] = hex[sum[i] & 15];
	}
	out[64] = '\0';
}
