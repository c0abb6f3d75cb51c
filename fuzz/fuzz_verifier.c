/* fuzz_verifier: the parsers `tpm11 verify-attestation` runs on evidence
 * from another machine (src/attest): JSON, CBOR, evidence_decode (all
 * three encodings) and the TPM structures inside evidence (TPMT_PUBLIC
 * with its Name, TPMS_ATTEST, TPMT_SIGNATURE). A verifier runs on a
 * server and reads untrusted input: no crash, no leak, no read past the
 * input (an exact-size heap copy) whatever it is given.
 *
 * The first byte picks the parser; the rest is its input. Checks beyond
 * "no crash": an accepted TPMT_PUBLIC marshals, parses and marshals again
 * to the same bytes; a decoded evidence encodes again and that decodes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attest/cbor.h"
#include "attest/evidence.h"
#include "attest/json.h"
#include "attest/tpmdata.h"
#include "fuzz_input.h"

static void
check_public(const uint8_t *p, size_t n)
{
	TPMT_PUBLIC pub, again;
	uint8_t *m = NULL, *m2 = NULL, name[2 + 64];
	size_t ml = 0, ml2 = 0, nl = sizeof(name);

	if (tpmt_public_parse(p, n, &pub) != 0)
		return;
	if (tpmt_public_marshal(&pub, &m, &ml) != 0)
		fz_fail("an accepted TPMT_PUBLIC does not marshal");
	if (tpmt_public_parse(m, ml, &again) != 0)
		fz_fail("a marshalled TPMT_PUBLIC does not parse");
	if (tpmt_public_marshal(&again, &m2, &ml2) != 0 || ml2 != ml ||
	    memcmp(m, m2, ml) != 0)
		fz_fail("marshal(parse(marshal(x))) differs from marshal(x)");
	(void)tpm_name(m, ml, pub.nameAlg, name, &nl);
	free(m);
	free(m2);
}

static void
check_evidence(const uint8_t *p, size_t n)
{
	evidence ev, ev2;
	char why[256], *enc;
	size_t el = 0;

	memset(&ev, 0, sizeof(ev));
	memset(&ev2, 0, sizeof(ev2));
	if (evidence_decode(p, n, &ev, why, sizeof(why)) != 0) {
		evidence_clear(&ev);
		return;
	}
	if ((enc = evidence_encode(&ev, &el)) != NULL) {
		if (evidence_decode((const uint8_t *)enc, el, &ev2, why,
				    sizeof(why)) != 0)
			fz_fail("decoded evidence, encoded again, does not "
				"decode: %s", why);
		evidence_clear(&ev2);
		free(enc);
	}
	evidence_clear(&ev);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *in;
	size_t n;
	char err[256];

	if (size == 0)
		return 0;
	n = size - 1;
	/* exact size, and one more byte for the JSON parser's text: a NUL
	 * that is not part of the length */
	if ((in = malloc(n + 1)) == NULL)
		abort();
	memcpy(in, data + 1, n);
	in[n] = '\0';
	switch (data[0] % 6) {
	case 0:
		json_free(json_parse((const char *)in, n, err, sizeof(err)));
		break;
	case 1:
		cbor_free(cbor_parse(in, n, err, sizeof(err)));
		break;
	case 2:
		check_evidence(in, n);
		break;
	case 3: {
		TPMS_ATTEST a;

		(void)tpms_attest_parse(in, n, &a);
		break;
	}
	case 4:
		check_public(in, n);
		break;
	case 5: {
		TPMT_SIGNATURE s;

		(void)tpmt_signature_parse(in, n, &s);
		break;
	}
	}
	free(in);
	return 0;
}
