/* SPDX-License-Identifier: ISC */
/* Unit tests for sigparam.c (placeholders of parameterised signatures), and
 * for their use through config.c: `signature = NAME ARG...`, the errors
 * with their lines, and what the expanded regexes match. */
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "sigparam.h"
#include "unit.h"

static void
expands(const char *pattern, char *const *args, size_t nargs, const char *want,
        const char *what)
{
	char *out = NULL, err[512] = "";
	size_t n = 0;
	enum sigparam_rc rc =
	    sigparam_expand(pattern, args, nargs, &out, &n, err, sizeof(err));

	ok(rc == SIGPARAM_OK, "%s: expands (%s)", what, err);
	ok_str(out, want, "%s: text", what);
	free(out);
}

static void
fails(const char *pattern, char *const *args, size_t nargs,
      enum sigparam_rc want, const char *word, const char *what)
{
	char *out = NULL, err[512] = "";
	size_t n = 0;
	enum sigparam_rc rc =
	    sigparam_expand(pattern, args, nargs, &out, &n, err, sizeof(err));

	ok(rc == want && out == NULL && strstr(err, word) != NULL,
	   "%s: rejected (%d, '%s')", what, rc, err);
}

static void
expansion(void)
{
	char *one[] = {"example.com"};
	char *two[] = {"Example.COM", "a-b_c.org."};
	char *wild[] = {"*.example.org"};
	char *alpn[] = {"h2", "http/1.1", "\\01\\\\"};
	char *out = NULL, err[256];
	size_t n = 99;

	expands("x%{hostname}y", one, 1, "x(?:(?i:example\\.com))y",
	        "hostname, no length");
	expands("%{hostname:be16}", two, 2,
	        "(?:\\x00\\x0b(?i:Example\\.COM)|\\x00\\x09(?i:a-b_c\\.org))",
	        "two names with be16 lengths, final dot dropped");
	expands("%{hostname:u8}%{hostname:le16}", one, 1,
	        "(?:\\x0b(?i:example\\.com))(?:\\x0b\\x00(?i:example\\.com))",
	        "u8 and le16 lengths, two placeholders");
	expands("%{hostname}", wild, 1, "(?:[\\w-]{1,63}(?i:\\.example\\.org))",
	        "wildcard without length: one label");
	expands("%{bytes:u8}", alpn, 3,
	        "(?:\\x02h2|\\x08http/1\\.1|\\x02\\x01\\\\)",
	        "bytes with u8 lengths, \\XX escapes, punctuation escaped");
	expands("a\\%{hostname}b", one, 1, "a\\%{hostname}b",
	        "\\% is a literal %, no placeholder");
	expands("[%]{2}", one, 1, "[%]{2}", "% not before { is plain");

	/* A wildcard with a length: one branch per first-label length, each
	 * tied to its exact length. */
	ok(sigparam_expand("%{hostname:be16}", wild, 1, &out, &n, err,
	                   sizeof(err)) == SIGPARAM_OK &&
	       n == 1,
	   "wildcard with be16 expands");
	ok(out != NULL && strncmp(out,
	                          "(?:\\x00(?=[\\x0d-\\x4b])(?:\\x0d[\\w-]{1}|"
	                          "\\x0e[\\w-]{2}|",
	                          51) == 0,
	   "wildcard: a lookahead on the length range, then branches of "
	   "length 13 with 1 byte, 14 with 2");
	ok(out != NULL &&
	       strstr(out, "|\\x4b[\\w-]{63})(?i:\\.example\\.org))") != NULL,
	   "wildcard: last branch is a 63-byte label, then the suffix");
	free(out);

	out = (char *)1;
	ok(sigparam_expand("%{hostname}", NULL, 0, &out, &n, err,
	                   sizeof(err)) == SIGPARAM_OK &&
	       out == NULL && n == 1,
	   "no arguments: counted, not expanded");
	ok(sigparam_expand("plain", NULL, 0, &out, &n, err, sizeof(err)) ==
	           SIGPARAM_OK &&
	       out == NULL && n == 0,
	   "no placeholder, no arguments: nothing to do");

	fails("%{hostname", one, 1, SIGPARAM_BAD_PATTERN, "without '}'",
	      "unclosed placeholder");
	fails("%{name}", one, 1, SIGPARAM_BAD_PATTERN, "bad placeholder",
	      "unknown kind");
	fails("%{hostname:be32}", one, 1, SIGPARAM_BAD_PATTERN,
	      "bad placeholder", "unknown length type");
	char *bad[] = {"ex..com",
	               "*",
	               "a.*.com",
	               "-",
	               "a b",
	               "x.",
	               ".",
	               "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	               "aaaaaaaaa.com",
	               "**.com"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char what[128];
		snprintf(what, sizeof(what), "host name '%.40s'", bad[i]);
		if (strcmp(bad[i], "-") == 0 || strcmp(bad[i], "x.") == 0) {
			/* One-label names are names. */
			expands("%{hostname}", &bad[i], 1,
			        strcmp(bad[i], "-") == 0 ? "(?:(?i:-))"
			                                 : "(?:(?i:x))",
			        what);
			continue;
		}
		fails("%{hostname}", &bad[i], 1, SIGPARAM_BAD_ARG,
		      "not a host name", what);
	}
	char *badbytes[] = {"\\zz"};
	fails("%{bytes}", badbytes, 1, SIGPARAM_BAD_ARG, "\\zz", "bad \\XX");
}

/* Writes DIR/NAME with TEXT. */
static void
write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (f == NULL) {
		perror(path);
		exit(1);
	}
	fputs(text, f);
	fclose(f);
}

static char dir[64];

static struct config *
load(const char *text, struct config_errors *errs)
{
	struct config *cfg = NULL;

	write_file(dir, "c.ini", text);
	char path[128];
	snprintf(path, sizeof(path), "%s/c.ini", dir);
	config_load(path, &cfg, errs);
	return cfg;
}

/* State of SIG on DATA, as final data. */
static enum sig_state
eval(const struct config *cfg, size_t sig, const void *data, size_t len)
{
	struct sig_scratch *s = sig_scratch_new();
	enum sig_state st = sig_eval(cfg->sigs[sig].sig, data, len, true, s);

	sig_scratch_free(s);
	return st;
}

/* A minimal ClientHello record carrying the server name NAME. */
static size_t
hello(uint8_t *buf, const char *name)
{
	size_t n = strlen(name), o = 0, hs, ext;

	buf[o++] = 0x16, buf[o++] = 3, buf[o++] = 1, o += 2; /* record */
	hs = o;
	buf[o++] = 1, o += 3;               /* handshake */
	buf[o++] = 3, buf[o++] = 3;         /* version */
	memset(buf + o, 0x41, 32), o += 32; /* random */
	buf[o++] = 0;                       /* session id */
	buf[o++] = 0, buf[o++] = 2, buf[o++] = 0x13, buf[o++] = 1;
	buf[o++] = 1, buf[o++] = 0; /* compression */
	ext = o, o += 2;
	buf[o++] = 0, buf[o++] = 0; /* server_name */
	buf[o++] = 0, buf[o++] = (uint8_t)(n + 5);
	buf[o++] = 0, buf[o++] = (uint8_t)(n + 3);
	buf[o++] = 0, buf[o++] = 0, buf[o++] = (uint8_t)n;
	memcpy(buf + o, name, n), o += n;
	buf[o++] = 0x44, buf[o++] = 0x69; /* ALPS, 'D' 'i' */
	buf[o++] = 0, buf[o++] = 0;
	buf[ext] = (uint8_t)((o - ext - 2) >> 8);
	buf[ext + 1] = (uint8_t)(o - ext - 2);
	buf[hs + 2] = (uint8_t)((o - hs - 4) >> 8);
	buf[hs + 3] = (uint8_t)(o - hs - 4);
	buf[3] = (uint8_t)((o - 5) >> 8);
	buf[4] = (uint8_t)(o - 5);
	return o;
}

static void
through_config(void)
{
	struct config *cfg;
	struct config_errors errs;
	char sigdir[128];
	uint8_t buf[512];

	snprintf(dir, sizeof(dir), "/tmp/portsplit-unit-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(sigdir, sizeof(sigdir), "%s/signatures", dir);
	mkdir(sigdir, 0700);
	write_file(sigdir, "sni.ini",
	           "# a test signature\n"
	           "frame = 3:be16+5\n"
	           "regex = (?s)\\x16\\x03...\\x01.*?\\x00\\x00....\\x00"
	           "%{hostname:be16}\n");
	write_file(sigdir, "plain.ini", "string = X\n");
	write_file(sigdir, "badph.ini", "regex = a%{nope}\n");

	cfg = load("bind = 127.0.0.1:1\n"
	           "[a]\n"
	           "signature = sni example.com\t*.Example.ORG ; comment\n"
	           "[b]\n"
	           "signature = plain\n",
	           &errs);
	for (size_t i = 0; i < errs.n; i++)
		printf("# %s\n", errs.lines[i]);
	ok(cfg != NULL && cfg->nsigs == 2, "signature with arguments loads");
	if (cfg != NULL) {
		ok_str(cfg->groups[0].name, "sni example.com *.Example.ORG",
		       "group name shows the arguments");
		ok(strstr(
		       cfg->sigs[0].text,
		       "\\x00\\x00....\\x00(?:\\x00\\x0b(?i:example\\.com)|") !=
		       NULL,
		   "expanded text is what -t shows and what is compiled");
		ok(cfg->groups[0].has_frame, "the file's frame applies");
		struct {
			const char *name;
			enum sig_state want;
		} cases[] = {
		    {"example.com", SIG_MATCH},
		    {"EXAMPLE.Com", SIG_MATCH},
		    {"www.example.org", SIG_MATCH},
		    {"a-b_c.example.org", SIG_MATCH},
		    {"example.org", SIG_NOMATCH},
		    {"a.b.example.org", SIG_NOMATCH},
		    {"example.co", SIG_NOMATCH},
		    {"example.com.evil.net", SIG_NOMATCH},
		    {"www.example.org.evil.net", SIG_NOMATCH},
		    {"wwwexample.org", SIG_NOMATCH},
		    {"xexample.com", SIG_NOMATCH},
		};
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			size_t n = hello(buf, cases[i].name);
			ok(eval(cfg, 0, buf, n) == cases[i].want, "SNI '%s' %s",
			   cases[i].name,
			   cases[i].want == SIG_MATCH ? "matches"
			                              : "does not match");
		}
		/* A length byte 0x41 ('A') must not match 'a' (0x61): the
		 * lengths stay outside the caseless group. */
		char long_name[80];
		memset(long_name, 'a', 65);
		strcpy(long_name + 65, ".com");
		size_t n = hello(buf, long_name); /* 69 = 0x45 */
		ok(eval(cfg, 0, buf, n) == SIG_NOMATCH,
		   "a 69-byte name does not match example.com");
		config_unref(cfg);
	}
	config_errors_free(&errs);

	cfg = load("bind = 127.0.0.1:1\n"
	           "[a]\n"
	           "signature = sni\n"
	           "[b]\n"
	           "signature = plain extra\n"
	           "[c]\n"
	           "signature = sni ex..com\n"
	           "[d]\n"
	           "signature = badph x\n",
	           &errs);
	for (size_t i = 0; i < errs.n; i++)
		printf("# %s\n", errs.lines[i]);
	ok(cfg == NULL && errs.n == 4, "four bad signature lines: %zu errors",
	   errs.n);
	if (errs.n == 4) {
		ok(strstr(errs.lines[0],
		          "c.ini:3: signature 'sni' needs arguments") != NULL,
		   "missing arguments, at the signature line: %s",
		   errs.lines[0]);
		ok(strstr(errs.lines[1],
		          "c.ini:5: signature 'plain' takes no arguments") !=
		       NULL,
		   "arguments to a plain signature: %s", errs.lines[1]);
		ok(strstr(errs.lines[2],
		          "c.ini:7: signature sni ex..com: "
		          "'ex..com' is not a host name") != NULL,
		   "bad host name, at the signature line: %s", errs.lines[2]);
		ok(strstr(errs.lines[3],
		          "badph.ini:1: bad placeholder '%{nope}'") != NULL,
		   "bad placeholder, at the signature file's line: %s",
		   errs.lines[3]);
	}
	config_errors_free(&errs);

	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
}

/* `--` splits the arguments into groups, one per placeholder in order. */
static void
groups(void)
{
	char *two[] = {"a.example", "b.example", "--", "h2"};
	char *one[] = {"a.example", "--", "h2", "--", "x"};
	char *empty[] = {"a.example", "--"};
	char *lead[] = {"--", "h2"};

	expands("N%{hostname}A%{bytes:u8}", two, 4,
	        "N(?:(?i:a\\.example)|(?i:b\\.example))A(?:\\x02h2)",
	        "two groups for two placeholders");
	expands("A%{bytes}B%{bytes}", two + 3, 1, "A(?:h2)B(?:h2)",
	        "without --, every placeholder takes every argument");
	fails("N%{hostname}A%{bytes}", one, 5, SIGPARAM_BAD_ARG,
	      "3 argument groups", "three groups for two placeholders");
	fails("N%{hostname}", two, 4, SIGPARAM_BAD_ARG, "2 argument groups",
	      "two groups for one placeholder");
	fails("N%{hostname}A%{bytes}", empty, 2, SIGPARAM_BAD_ARG, "empty",
	      "an empty group after --");
	fails("N%{hostname}A%{bytes}", lead, 2, SIGPARAM_BAD_ARG, "empty",
	      "an empty group before --");
}

int
main(void)
{
	expansion();
	groups();
	through_config();
	return unit_done();
}
