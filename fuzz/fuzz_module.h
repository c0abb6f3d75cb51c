/* The input format of fuzz_module (see fuzz_module.c): the setup byte and
 * the opcodes, shared with fuzz/seedgen.c, which writes seed inputs. */
#ifndef TPM11_FUZZ_FUZZ_MODULE_H
#define TPM11_FUZZ_FUZZ_MODULE_H

/* Setup byte. */
#define FZ_SETUP_DAMAGE_ATTRS 0x01 /* u8 object, u16 length, bytes */
#define FZ_SETUP_DAMAGE_PUB 0x02   /* the same, for the tpm_pub blob */
#define FZ_SETUP_NO_INIT 0x04      /* no C_Initialize before the ops */

/* Opcodes (byte % FZ_OP_COUNT) and their arguments, in order. */
enum {
	FZ_OP_INITIALIZE = 0, /* mode */
	FZ_OP_FINALIZE,       /* bit 0: pReserved non-NULL */
	FZ_OP_INFO,           /* which, null, slot, [session | mech index] */
	FZ_OP_LISTS,          /* which, n, mode, (tokenPresent | slot) */
	FZ_OP_OPEN,           /* slot, flags */
	FZ_OP_CLOSE,          /* which, (slot | session) */
	FZ_OP_LOGIN,          /* which, session, user type, pin, [user] */
	FZ_OP_PINS,           /* which, slot, session, pin, pin, [label] */
	FZ_OP_FIND,           /* which, session, (template | max, mode) */
	FZ_OP_GET_ATTRS,      /* session, object, template */
	FZ_OP_SET_ATTRS,      /* which, session, object, [template] */
	FZ_OP_KEYGEN,         /* session, mode, mech, template, template */
	FZ_OP_INIT,           /* which, session, key, mech, [...] */
	FZ_OP_RUN,            /* which, session, in, out */
	FZ_OP_MISC,           /* which, session, buf, version, [...] */
	FZ_OP_COUNT
};

/* FZ_OP_INIT which. */
enum { FZ_INIT_SIGN = 0, FZ_INIT_VERIFY, FZ_INIT_DECRYPT, FZ_INIT_DIGEST,
       FZ_INIT_ENCRYPT, FZ_INIT_DIGEST_KEY, FZ_INIT_MESSAGE, FZ_INIT_N };
/* FZ_OP_RUN which. */
enum { FZ_RUN_SIGN = 0, FZ_RUN_SIGN_UPDATE, FZ_RUN_SIGN_FINAL,
       FZ_RUN_VERIFY, FZ_RUN_VERIFY_UPDATE, FZ_RUN_VERIFY_FINAL,
       FZ_RUN_DECRYPT, FZ_RUN_DIGEST, FZ_RUN_DIGEST_UPDATE,
       FZ_RUN_DIGEST_FINAL, FZ_RUN_N };
/* FZ_OP_SET_ATTRS which. */
enum { FZ_SET_SET = 0, FZ_SET_CREATE, FZ_SET_COPY, FZ_SET_DESTROY,
       FZ_SET_SIZE, FZ_SET_N };
/* FZ_OP_FIND which. */
enum { FZ_FIND_INIT = 0, FZ_FIND_FIND, FZ_FIND_FINAL, FZ_FIND_N };

#endif
