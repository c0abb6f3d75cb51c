/* How the files of src/tpm/ send TPM commands; for src/tpm/ only (not
 * installed, not included elsewhere). Every ESAPI function that sends a
 * command goes through TPM_CALL or TPM_CALL_ROOM, so that commands are
 * counted (tpm_command_count), a busy TPM is asked again, a closed socket
 * cannot kill the host program with SIGPIPE, and a failure is logged once,
 * where it happens, and kept for tpm_errmsg. ESAPI functions that send
 * nothing (Esys_TR_Close, Esys_Free, Esys_TR_GetName) are called
 * directly. */
#ifndef TPM11_TPM_CALL_H
#define TPM11_TPM_CALL_H

#include <stdbool.h>
#include <string.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>

#include "tpm/tpm.h"
#include "util/blob.h"
#include "util/sigpipe.h"

/* Counts the command just sent (rc its answer, try the attempt, from 0)
 * and says whether to send it again, having waited (tpm.c says when). */
bool tpm_again(tpm_ctx *t, const char *what, TSS2_RC rc, unsigned try);
/* Keeps "what: 0x... decoded" for tpm_errmsg and logs it. */
void tpm_note_error(tpm_ctx *t, const char *what, TSS2_RC rc);
/* The TPM is out of object or session slots. */
bool tpm_rc_full(TSS2_RC rc);
/* Flushes what dead processes left in a full TPM; how many. */
int tpm_flush_strangers(tpm_ctx *t);

#define TPM_CALL(t, what, call)                               \
	({                                                    \
		TSS2_RC r_;                                   \
		unsigned try_ = 0;                            \
		sigpipe_guard g_;                             \
		sigpipe_block(&g_);                           \
		do {                                          \
			r_ = (call);                          \
		} while (tpm_again((t), (what), r_, try_++)); \
		sigpipe_restore(&g_);                         \
		if (r_ != TSS2_RC_SUCCESS)                    \
			tpm_note_error((t), (what), r_);      \
		r_;                                           \
	})

/* TPM_CALL for a command that needs a free object or session slot: when
 * the TPM is full, flush what dead processes left behind and try once
 * more (see tpm_flush_strangers). */
#define TPM_CALL_ROOM(t, what, call)                                \
	({                                                          \
		TSS2_RC rr_ = TPM_CALL((t), (what), (call));        \
		if (tpm_rc_full(rr_) && tpm_flush_strangers(t) > 0) \
			rr_ = TPM_CALL((t), (what), (call));        \
		rr_;                                                \
	})

/* The ESAPI context and the SRK (ESYS_TR_NONE when not in use). */
ESYS_CONTEXT *tpm_esys(tpm_ctx *t);
ESYS_TR tpm_srk_tr(tpm_ctx *t);
/* A transient object or session src/tpm/attest.c loaded (ours true) or
 * is about to flush (false): tpm_flush_strangers leaves it alone. Three
 * at most at a time (an AK, an EK and the EK's policy session). */
void tpm_mark_ours(tpm_ctx *t, ESYS_TR tr, bool ours);

/* A TPM structure into a blob (src: a pointer to it), marshalled as
 * tpm2-tss does. 0 ok, -1 (out of memory). */
#define MARSHAL_TO_BLOB(type, src, dst)                                 \
	({                                                              \
		uint8_t buf_[sizeof(*(src)) + 16];                      \
		size_t off_ = 0;                                        \
		int r_ = -1;                                            \
		if (Tss2_MU_##type##_Marshal((src), buf_, sizeof(buf_), \
					     &off_) == TSS2_RC_SUCCESS) \
			r_ = blob_set((dst), buf_, off_);               \
		r_;                                                     \
	})

/* A TPM structure from a blob it must fill exactly (dst zeroed first). 0
 * ok, -1 when it does not parse. */
#define UNMARSHAL_BLOB(type, src, dst)                                         \
	({                                                                     \
		size_t off_ = 0;                                               \
		int r_ = -1;                                                   \
		memset((dst), 0, sizeof(*(dst)));                              \
		if ((src)->data != NULL &&                                     \
		    Tss2_MU_##type##_Unmarshal((src)->data, (src)->len, &off_, \
					       (dst)) == TSS2_RC_SUCCESS &&    \
		    off_ == (src)->len)                                        \
			r_ = 0;                                                \
		r_;                                                            \
	})

#endif
