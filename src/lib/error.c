/* error.c — English text for the library's error codes. Must stay in step with error.h. */
#include "smartmeter/error.h"

const char *sm_strerror(enum sm_err err)
{
	switch (err) {
	case SM_OK: return "success";
	case SM_E_NOMEM: return "out of memory";
	case SM_E_INVAL: return "invalid argument";
	case SM_E_TRUNCATED: return "truncated frame";
	case SM_E_TOO_LONG: return "frame too long";
	case SM_E_CRC: return "CRC mismatch";
	case SM_E_HCS: return "HDLC header check sequence mismatch";
	case SM_E_FCS: return "HDLC frame check sequence mismatch";
	case SM_E_CHECKSUM: return "M-Bus checksum mismatch";
	case SM_E_SYNTAX: return "syntax error";
	case SM_E_AXDR: return "malformed A-XDR data";
	case SM_E_DEPTH: return "A-XDR nesting too deep";
	case SM_E_COUNT: return "too many elements";
	case SM_E_UNSUPPORTED: return "unsupported";
	case SM_E_SEQUENCE: return "segment lost or out of order";
	case SM_E_INCOMPLETE: return "incomplete multi-frame message";
	case SM_E_NO_KEY: return "encrypted frame but no key configured";
	case SM_E_DECRYPT: return "decryption failed (wrong key?)";
	case SM_E_AUTH: return "authentication failed (wrong key or auth key?)";
	case SM_E_REPLAY: return "invocation counter went backwards (possible replay)";
	case SM_E_LAYOUT: return "unknown body layout";
	case SM_E_CRYPTO: return "crypto library initialisation failed";
	}
	return "unknown error";
}
