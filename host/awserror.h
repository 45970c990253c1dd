/* The error code, message and request id of an AWS error response, read as botocore reads
 * them: XML with expat (query/ec2 <ErrorResponse>/<Response><Errors><Error>, rest-xml and
 * S3's bare <Error>), JSON with a real parser (`__type`, `code`/`Code`, `message`/`Message`,
 * the x-amzn-errortype and x-amzn-query-error headers). For retry decisions and the audit log. */
#ifndef IRH_AWSERROR_H
#define IRH_AWSERROR_H
#include <stddef.h>

struct irh_awserror {
    char code[128];          /* "Throttling", "InvalidInstanceID.NotFound", or "" */
    char message[512];       /* truncated, control characters replaced by spaces */
    char request_id[128];    /* from the body when it carries one */
};

/* Reads the error in an HTTP response. content_type, errortype (x-amzn-errortype) and
 * query_error (x-amzn-query-error) may be NULL. Without a code in the body, a 4xx/5xx
 * status gives the status as the code (as botocore does). Returns 1 if e->code is set,
 * 0 if the response carries no error. Never fails: a malformed body just yields less. */
int irh_awserror_parse(long status, const char *content_type, const char *errortype,
                       const char *query_error, const char *body, size_t len,
                       struct irh_awserror *e);

/* Trims a JSON error type as botocore does: "aws.prefix#Name" -> "Name",
 * "Name:http://..." -> "Name". Works in place. */
void irh_awserror_trim_type(char *code);

/* Copies the text of the first element called name (local name, any depth) of an XML
 * response into out: used for the account in a GetCallerIdentity answer. Returns 0 when
 * found, -1 otherwise. */
int irh_xml_first_text(const char *body, size_t len, const char *name, char *out, size_t outlen);

#endif
