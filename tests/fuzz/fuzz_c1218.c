/* fuzz_c1218.c — libFuzzer entry point for the C12.18 client: the session state machine fed either raw
 * bytes (first input byte even: checksums, lengths, resynchronisation) or a meter's answers built from
 * the input with good CRCs (odd: [ctrl][len][data...] records, so mutations reach reassembly, the
 * service answers and the C12.19 table decoders instead of dying at the CRC). Timer events are
 * interleaved; every telegram produced is walked. The session must never crash, read out of bounds or
 * stop offering a wake time while it runs.
 * Build: cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DSMARTMETER_FUZZ=ON && build-fuzz/fuzz_c1218 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "smartmeter/c1218.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(const struct sm_c1218_session *s, const struct sm_c1218_step *st)
{
	char buf[SM_NUMBER_STRLEN];
	if (sm_c1218_session_busy(s) && !st->wake_ms)
		abort(); /* a running session always has a deadline */
	if (!st->telegram)
		return;
	for (size_t i = 0; i < st->telegram->nreadings; i++) {
		const struct sm_value *v = &st->telegram->readings[i].value;
		if (v->type == SM_VALUE_NUMBER)
			sm_number_format(&v->u.num, buf, sizeof(buf));
		if (v->type == SM_VALUE_TEXT)
			for (size_t k = 0; k < v->u.text.len; k++)
				buf[0] ^= v->u.text.str[k];
	}
	if (st->telegram->meter_id)
		buf[0] ^= st->telegram->meter_id[0];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sm_c1218_session s;
	static const struct sm_c1218_session_config cfg = { .user_id = 1, .user = "0000", .use_security = true,
		                                            .packet_size = 64, .npackets = 2 };
	static uint8_t pkt[SM_C1218_MAX_PACKET + 1];
	struct sm_c1218_step st;
	uint64_t now = 1000;

	if (size == 0)
		return 0;
	sm_c1218_session_init(&s, &cfg);
	sm_c1218_session_start(&s, now, &st);
	bool framed = data[0] & 1;
	size_t i = 1;
	while (i < size) {
		if (framed) {
			if (i + 2 > size)
				break;
			uint8_t ctrl = data[i], len = data[i + 1];
			i += 2;
			size_t n = len <= size - i ? len : size - i;
			size_t pn = sm_c1218_packet_build(ctrl & 0xE0, (uint8_t)(ctrl & 0x1F), data + i, n, pkt + 1, sizeof(pkt) - 1);
			i += n;
			pkt[0] = SM_C1218_ACK;
			now += 10;
			sm_c1218_session_input(&s, now, pkt, pn + 1, &st);
		} else {
			size_t n = data[i] % 32 + 1;
			i++;
			if (n > size - i)
				n = size - i;
			now += 10;
			sm_c1218_session_input(&s, now, data + i, n, &st);
			i += n;
		}
		walk(&s, &st);
		if ((i & 3) == 0 && st.wake_ms) {
			now = st.wake_ms;
			sm_c1218_session_timer(&s, now, &st);
			walk(&s, &st);
		}
		if (!sm_c1218_session_busy(&s))
			sm_c1218_session_start(&s, now, &st);
	}
	return 0;
}
