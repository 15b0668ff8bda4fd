/* gcmbuild.c — encrypts test vectors for ciphered APDUs with libgcrypt (see gcmbuild.h).
 * Deliberately written from PROTOCOLS.md §4.3, not from src/lib/cipher.c, so a shared misreading of the
 * spec would have to be made twice. Never used outside tests and benches. */
#include <string.h>

#include <gcrypt.h>

#include "gcmbuild.h"
#include "smartmeter/decoder.h"

#define GCM_TAGLEN 12u

void gcm_init(void)
{
	if (gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P))
		return;
	gcry_check_version(NULL);
	gcry_control(GCRYCTL_DISABLE_SECMEM_WARN);
	gcry_control(GCRYCTL_INIT_SECMEM, 32768, 0);
	gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
}

size_t gcm_hex(const char *hex, uint8_t *out, size_t outsz)
{
	size_t n = 0;
	int hi = -1;
	for (; *hex; hex++) {
		if (*hex == ' ' || *hex == '\n' || *hex == '\t')
			continue;
		int v = sm_hex_digit((unsigned char)*hex);
		if (v < 0)
			return 0;
		if (hi < 0) {
			hi = v;
			continue;
		}
		if (n >= outsz)
			return 0;
		out[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	return hi < 0 ? n : 0;
}

size_t gcm_build(const struct gcm_params *prm, const uint8_t *p, size_t n, uint8_t *out, size_t outsz)
{
	static const uint8_t zero[16];
	const int auth = (prm->sc & 0x10) != 0, enc = (prm->sc & 0x20) != 0;
	const size_t body = 5 + n + (auth ? GCM_TAGLEN : 0);
	uint8_t hdr[16];
	size_t h = 0;

	hdr[h++] = prm->tag;
	hdr[h++] = 8;
	/* the system title is appended below, after the length is known */
	uint8_t lenbuf[5];
	size_t ll = 0;
	enum gcm_lenform f = prm->lenform;
	if (f == GCM_LEN_SHORTEST)
		f = body < 0x80 ? GCM_LEN_SHORTEST : body <= 0xFF ? GCM_LEN_81 : GCM_LEN_82;
	switch (f) {
	case GCM_LEN_SHORTEST:
		lenbuf[ll++] = (uint8_t)body;
		break;
	case GCM_LEN_81:
		if (body > 0xFF)
			return 0;
		lenbuf[ll++] = 0x81;
		lenbuf[ll++] = (uint8_t)body;
		break;
	case GCM_LEN_82:
		if (body > 0xFFFF)
			return 0;
		lenbuf[ll++] = 0x82;
		lenbuf[ll++] = (uint8_t)(body >> 8);
		lenbuf[ll++] = (uint8_t)body;
		break;
	case GCM_LEN_84:
		lenbuf[ll++] = 0x84;
		lenbuf[ll++] = (uint8_t)(body >> 24);
		lenbuf[ll++] = (uint8_t)(body >> 16);
		lenbuf[ll++] = (uint8_t)(body >> 8);
		lenbuf[ll++] = (uint8_t)body;
		break;
	}
	size_t total = 2 + 8 + ll + body;
	if (total > outsz)
		return 0;

	uint8_t *o = out;
	memcpy(o, hdr, h);
	o += h;
	memcpy(o, prm->system_title, 8);
	o += 8;
	memcpy(o, lenbuf, ll);
	o += ll;
	*o++ = prm->sc;
	uint8_t ic[4] = {(uint8_t)(prm->ic >> 24), (uint8_t)(prm->ic >> 16), (uint8_t)(prm->ic >> 8), (uint8_t)prm->ic};
	memcpy(o, ic, 4);
	o += 4;

	uint8_t iv[12];
	memcpy(iv, prm->system_title, 8);
	memcpy(iv + 8, ic, 4);

	/* Encryption only is built with plain AES-CTR from IV ‖ 00000002 (Green Book §9.2.7.2.4), so the
	 * library's "GCM decrypt without a tag" is checked against the spec's definition, not against itself. */
	const int ctr_only = enc && !auth;
	gcry_cipher_hd_t hd;
	if (gcry_cipher_open(&hd, GCRY_CIPHER_AES128, ctr_only ? GCRY_CIPHER_MODE_CTR : GCRY_CIPHER_MODE_GCM, 0))
		return 0;
	size_t ret = 0;
	if (gcry_cipher_setkey(hd, prm->ek, 16))
		goto out;
	if (ctr_only) {
		uint8_t ctr[16];
		memcpy(ctr, iv, 12);
		ctr[12] = ctr[13] = ctr[14] = 0;
		ctr[15] = 2;
		if (gcry_cipher_setctr(hd, ctr, sizeof(ctr)))
			goto out;
	} else if (gcry_cipher_setiv(hd, iv, sizeof(iv))) {
		goto out;
	}
	if (auth) {
		/* AAD in one contiguous block: SC ‖ AK [‖ information] */
		uint8_t aad[17 + 4096];
		if (!enc && n > 4096)
			goto out;
		aad[0] = prm->sc;
		memcpy(aad + 1, prm->ak ? prm->ak : zero, 16);
		size_t alen = 17;
		if (!enc) {
			memcpy(aad + 17, p, n);
			alen += n;
		}
		if (gcry_cipher_authenticate(hd, aad, alen))
			goto out;
	}
	if (enc) {
		if (gcry_cipher_encrypt(hd, o, n, p, n))
			goto out;
	} else {
		memcpy(o, p, n);
	}
	o += n;
	if (auth) {
		if (gcry_cipher_gettag(hd, o, GCM_TAGLEN))
			goto out;
		o += GCM_TAGLEN;
	}
	ret = (size_t)(o - out);
out:
	gcry_cipher_close(hd);
	return ret;
}
