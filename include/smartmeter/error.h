/* error.h — the library's one error vocabulary.
 * Every failure the decoder can report is one of these codes; the caller decides how to log it.
 * Never add a code without a sm_strerror() text: the compiler (no default: case) enforces it. */
#ifndef SMARTMETER_ERROR_H
#define SMARTMETER_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

enum sm_err {
	SM_OK = 0,
	SM_E_NOMEM,          /* allocation failed (only at decoder creation) */
	SM_E_INVAL,          /* bad argument from the caller */
	SM_E_TRUNCATED,      /* frame ends before its declared length / terminator */
	SM_E_TOO_LONG,       /* frame or field exceeds a named cap */
	SM_E_CRC,            /* DSMR CRC-16 mismatch */
	SM_E_HCS,            /* HDLC header check sequence mismatch */
	SM_E_FCS,            /* HDLC frame check sequence mismatch */
	SM_E_CHECKSUM,       /* M-Bus checksum or stop byte wrong */
	SM_E_SYNTAX,         /* telegram / line grammar violated */
	SM_E_AXDR,           /* malformed A-XDR data */
	SM_E_DEPTH,          /* A-XDR nesting deeper than the cap */
	SM_E_COUNT,          /* too many elements / readings for the caps */
	SM_E_UNSUPPORTED,    /* understood but not supported (e.g. compression) */
	SM_E_SEQUENCE,       /* segment / block lost or out of order; partial message dropped */
	SM_E_INCOMPLETE,     /* multi-part message never completed */
	SM_E_NO_KEY,         /* encrypted frame, no key configured */
	SM_E_DECRYPT,        /* decryption failed (wrong key?) */
	SM_E_AUTH,           /* GCM authentication tag mismatch (wrong key or auth key) */
	SM_E_REPLAY,         /* invocation counter went backwards */
	SM_E_LAYOUT,         /* body understood only partly: values keyed by position */
	SM_E_CRYPTO,         /* the crypto library failed to initialise */
};

/* Static English text for an error code; never NULL. */
const char *sm_strerror(enum sm_err err);

#ifdef __cplusplus
}
#endif
#endif
