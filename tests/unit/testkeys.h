/* Fixed RSA keys for the unit tests: generating RSA primes costs seconds
 * natively and over a minute under valgrind, and the tests need keys, not
 * fresh ones. Made once with `openssl genpkey -algorithm RSA
 * -pkeyopt rsa_keygen_bits:N`; they protect nothing. */
#ifndef TPM11_TESTS_UNIT_TESTKEYS_H
#define TPM11_TESTS_UNIT_TESTKEYS_H

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <string.h>

static const char test_rsa2048_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDproC5piINsKwK\n"
	"kisGMSxGIATa2XzjhdI4tJT8oQJ8Xfr8mwkIok/xsuACdWWV/nSAJFBlanVMShgl\n"
	"2wUf8GeIQpy1ZZDQwfsMUzG0slRUQz5uRnSfUz9eu0ravOKp3f/x4t+nNkGgkVap\n"
	"a5EqovE4aoAU5Tgb7xEMDSygQbcyiQFwjLuwkKaLXDZQuLyYCBRG6EZTtQWE6ICf\n"
	"LEmi+NKFwNG2uNTCuf+J8f2YU94r8uom4kkeL+QFWJ1bkL6g61khlgLBPz9TMX7x\n"
	"09f2yrqj53oereUV2jH34Dy6T/N/1S1f8MvaPnebKiyOUsIHpiH+ztZgtUQEAnZk\n"
	"/OJc/wjzAgMBAAECggEASxbC0GT8/k8uCTuMzbGRW3tAdB58zhObSJNmaINIbDQ6\n"
	"yV78GSUm8TCcYM3edcNNJjwFBYGe7YPFnKxzSh8S9asJ9hQL47jhdcVp7Hl9NZJi\n"
	"BkdnhCbY7xTZ6c3WO+VVMCHJ4k5B6lmpcklZXUz8nDdErvI1BGzemnPFSj2zo23b\n"
	"rq/G6Nlba6kr/AP/LPV8/WBiIsU8Dyv/Xxangj4Fcj7Z5zbyaxS6qdNhNAmy2WtU\n"
	"YkAZJz68rAdDOpncNLeYkLJvHcCttXlamnOoGgIUhF4L0St1HzLr4EvufW8dBlpG\n"
	"5VVcW2zwIfd4y0pCwrGHOpgAez9sDyhakaELCji9cQKBgQD4WVTZvpdYbe5RONhE\n"
	"Sz31nrNqqscKi1ZzqFoiZI4B19jAjeUA2La96srJ/NG5E12CE/HW18VYL4cBfblY\n"
	"kaatMjsTu6pN3SIV43vOSXb9Pe9/toY2jFr0GPxLv/cztHhT3+JAxGHfbrAeXuB2\n"
	"Z8PzuTSfWJrljsLGYp6KthOGiQKBgQDw4X5xW58HbPw2mWDc2G7sc/2Tt4ZcqHy1\n"
	"rkJvGeGMvAEVOyYbMs2QoYwim5tYqWZT1rw65hpdN/Ujfw62WFq+e2JHQyTYGeod\n"
	"JGRuNsOoHosdtMj+HdcR+LZ3lJdGlxY7AsVH6YMIMgZd2T7M9Mq7bfufZx405pCj\n"
	"ytfZTuL0mwKBgQDSFUdo1whSHtRd0vdndjrYn0Jo9kRf0BT2y7BLrcJPHtdVs/LH\n"
	"r4uOxqJ7EaobpJ0SX2rR8j8XZUUQZtk2aieUFYzSGYtsSKb/2yqtC4pjmVQTNkT8\n"
	"uehq2wP51E76ZyzuztInNbkReCH13w6EOy0Q7Ffuf9awX/62MVCqSHHl+QKBgA/e\n"
	"65PQc5PrrFp0lJs4b2aI5eY7q1CjkUPvLVVgoSnCoVeixAn6uOyUmEUXd47J6oIP\n"
	"netLieUmcLJcBr4g6Cmwu3Lyi5TpcDFnWm6gkRecm5HjfXKwyKDYgD00vxrZjY9p\n"
	"yVHJouaBVUYNsEOUxV7AClogUy8tGc6Q6NPajL2NAoGABiW0TkwaOehQELiNxoC4\n"
	"o77sof2tJljLOqLhUSlfSxNYhFjAN4VcHiIB9ROjJ3uNywcGAcBVPSv/0sahHNtm\n"
	"jFqutBmTiMYFR1VXLyRugwfzGKyFJNQPEo2CExZeBVTqA6M0fBavrsu3BYbmlfKn\n"
	"r9n2E6Dxv2Dv5261nBiuIpg=\n"
	"-----END PRIVATE KEY-----\n"
	;

static const char test_rsa3072_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIIG/QIBADANBgkqhkiG9w0BAQEFAASCBucwggbjAgEAAoIBgQDXbiu73tjcA7kJ\n"
	"05j6s4pvYceM5ZUC5Cmgz9dZ4T5RTEVrGoMPP4JQmyWWF7PYhacaMefnhnStEPHq\n"
	"1QxT2sCoyghv4ldYhja/758deI+yAjVPSB8KyjXK+sX+Gi7MXfWrB3WAOlxhaVrr\n"
	"K6APwlI+Q2rkfUeOFugQ3EtO7zPJfGKU45gbNNjGSjG/tIMbuARr+UBtczU70Zuc\n"
	"q2DsBcRlanFlDP9+u9HFsGs0utzb6bpGmoC0YQ2yp59HqrDACyTfInLRBQ7asqLc\n"
	"Ju+nASDjDW/JyoWhCzDpRbXVsSCP3Wbv0Z+eiJtLZUHMLFxO0vRHk1K4ga9ew1HP\n"
	"b6/sL/kBxEKWXDhLaju5NGOA2UP3Zv8MlwpOFDgazP8Lz6Stb5N2ylzopShwvZN+\n"
	"cMk9YrgY7pHUj8U26Cmpc65k0S8N06R1xYk2OIsGvv+3ci5RSvBXMDvCamkOge1p\n"
	"lPzQPm23lD4SdJwlWAVXM2Q/eTDd1aS/9uTkgWvakRxjQ/YWcXECAwEAAQKCAYAM\n"
	"jA0eBw+oWMspKFrLlzNj41UE/sYcAf/ursxDHtxLTd7pKwUhGTjUywR4Zm8CGF6w\n"
	"JuHz2R/oiIkefUQXijEYY5P0OEGQFVkQ+rrQs5ni60ABmxi7vyU86jgn4YyCOKK7\n"
	"UFbmnf+NaN5zvfm3kUDLAZAzOJy3SNxBRyNXuJTSkl0HgO31/7D0c5PML45HSgNv\n"
	"6nd3KHOcRUwD5vNhK8DRi06JbSVgUz4Xfnvv+UYtxMIlpJAEcXajxiF/whBDTyK+\n"
	"OIPGhHAMYjsqmQSZhFOdRsJuZi9mW/HdzKk1ToePho8DMD5MPQmimQQ6ArYMrlFu\n"
	"ibnfuMZG+KDOlTBqeEOlHw8vhBsn3e3DXAC0yBpe4um2/q67CGbTjPvX/C9v4iQ2\n"
	"IcS1cWgbtGcBpTkEYreQJB6DmJXVXTNPbpjrEzjVGvk2J9n2csXHQFvoBorfqNxj\n"
	"ogBaPZbvKYLhtoqAC63ojxCJ7eynUgzV6+F8NHIqM0/YviEbpreaXeOgdfpc9JUC\n"
	"gcEA+WjvqOklhjiHp7JSfGFdEuaf055vgLz2ebfCRQBnXxeQMb4DjmbJxDpzfh16\n"
	"CiswoDpOG06bQHvioYP2lbOfyNfEComy/j/hHBUpPrpLpQXQhk41b3kxEZudCbed\n"
	"XNrBvcvvc9tS+SvzZ2jaTUyVx1gIR3hgesHxYAssmExAy5rGZ+r4kNAl000Si54x\n"
	"1oMj/9xoKQGBxLaIjjSCfvekIIgVBHK0Qo1CJM1xAOdLTwrNv437b8+X65gYGzeQ\n"
	"1ZHzAoHBAN0fY7MPd0I3M8Nu1TMljri4PHe0/Ilg7NrUGrw8PAmHoV9+NzoYK0o5\n"
	"tPOFHxKqK9IPSEGKZtSk8UcjhmOEuXCLFye8nIJHJq76VeeolYfhk83R3uG/uSw3\n"
	"H9BTwhh5LkI3lJwmWettw11ezz2ipVARGChZF3m/1AtPIbY+PzAxmk5vt5e+XJ1W\n"
	"N3UJYSK8y7RTOVNk70k6Y6J5euG60Z9MeO79pDKOY/YwmoHYF6571IQzZsEY5Rjs\n"
	"rTQFf9EkCwKBwEA3Xo2VCg5W+8aXyVkxEG/PZZNtFbSF8shAIgr2IaeAP6YvEGdX\n"
	"29dkXVw5ZrS7jheTK40oXhzqSN3hRlohF6D0vQshjS6db+51HFuER/nDV39dH7EF\n"
	"+TZZZMOdvSytPnkJyyt/awuw30je3GZOs7nR1r/gJKc2zFk4R1EnQP+raC5Vd46B\n"
	"qVuQWpgMMTTUKy6zpzX3p1voy5whtP/P7zhZEWBF0FfaWw9yvgfHhcJiO7t4aSbO\n"
	"woTscjh/xBDZNQKBwDgSnKqsklZ1Pygg8+mLbZzEA3lrqNqBfK6lOL5hG+xiu3ZG\n"
	"wGR3+opRBeT27gFCq+gRvgX4vcjQpuqeRJb58jhq3Q1Tk/CpcFLQ4nXjVz/k4SFB\n"
	"Rh7DCob+149xnfesyyE5jPLn+sdrxy3nO/BqTTd3jkO1C/Hwxim0AF2BfW6QNYwM\n"
	"YmcVe9DeKyP/o+U2MQXiUNgn8VIFf3yVB6c0Q7H8p3IbWccEOq8UdinVDXROrH51\n"
	"tmnjET13zxgxCM+VLwKBwQCjPDODcUAMDSkbCyn/19IG39w/sfBeTi+D4wm3Odr8\n"
	"nZrrPdFA6uTaz0cF2pzPe1+jMihKCB4qsZ90Bl/NZ6gf/PPTzBk3M+Um4FsTs4v/\n"
	"P+HZTwTcDs8A7KbYwWANOW7wPWa2urGkBKNJXNUyWUHcM4Bf8Vt41FkekugXniJF\n"
	"phXZxiiXLY1nM7czGkm/CPPT2yBeeOfiwc3oE5g4FL9cMpYCQAknN02Sc9CqGtKL\n"
	"AauGi+6jgZ+BJ9LXtTSR54E=\n"
	"-----END PRIVATE KEY-----\n"
	;

/* test_key_load(PEM): the key, or NULL. */
static inline EVP_PKEY *
test_key_load(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, (int)strlen(pem));
	EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	return k;
}

#endif
