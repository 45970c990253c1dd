/* host/awserror.c: error code/message/request id from every AWS error shape, as botocore reads them. */
#include "unit.h"
#include "awserror.h"
#include <string.h>

struct tcase {
    const char *name;
    long status;
    const char *ctype, *errortype, *query_error, *body;
    int want_rc;
    const char *code, *message, *request_id;
};

static const struct tcase cases[] = {
    { "query ErrorResponse", 400, "text/xml", NULL, NULL,
      "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type>"
      "<Code>NoSuchEntity</Code><Message>The user with name bob cannot be found.</Message></Error>"
      "<RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId></ErrorResponse>",
      1, "NoSuchEntity", "The user with name bob cannot be found.", "7a62c49f-347e-4fc4-9331-6e8eEXAMPLE" },
    { "ec2 Response/Errors/Error", 400, "text/xml;charset=UTF-8", NULL, NULL,
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>InvalidInstanceID.NotFound</Code>"
      "<Message>The instance ID 'i-1' does not exist</Message></Error></Errors><RequestID>ea966190-f9aa</RequestID></Response>",
      1, "InvalidInstanceID.NotFound", "The instance ID 'i-1' does not exist", "ea966190-f9aa" },
    { "s3 bare Error", 404, "application/xml", NULL, NULL,
      "<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message>"
      "<BucketName>b</BucketName><RequestId>4442587FB7D0A2F9</RequestId><HostId>abc=</HostId></Error>",
      1, "NoSuchBucket", "The specified bucket does not exist", "4442587FB7D0A2F9" },
    { "s3 200 with Error (CopyObject)", 200, "application/xml", NULL, NULL,
      "<?xml version=\"1.0\"?>\n<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>",
      1, "InternalError", "We encountered an internal error.", "" },
    { "throttling query", 400, "text/xml", NULL, NULL,
      "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>",
      1, "Throttling", "Rate exceeded", "" },
    { "json __type with namespace", 400, "application/x-amz-json-1.1", NULL, NULL,
      "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException\",\"message\":\"slow down\"}",
      1, "ProvisionedThroughputExceededException", "slow down", "" },
    { "json Message capitalised", 400, "application/x-amz-json-1.1", NULL, NULL,
      "{\"__type\":\"ResourceNotFoundException\",\"Message\":\"Secrets Manager can't find the specified secret.\"}",
      1, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.", "" },
    { "rest-json x-amzn-errortype header with suffix", 400, "application/json",
      "ValidationException:http://internal.amazon.com/coral/com.amazon.coral.validate/", NULL,
      "{\"message\":\"1 validation error\"}", 1, "ValidationException", "1 validation error", "" },
    { "rest-json code in body", 404, "application/json", NULL, NULL,
      "{\"code\":\"ResourceNotFoundException\",\"message\":\"not found\"}", 1, "ResourceNotFoundException", "not found", "" },
    { "query-compatible json", 400, "application/x-amz-json-1.0", NULL, "AWS.SimpleQueueService.NonExistentQueue;Sender",
      "{\"__type\":\"com.amazonaws.sqs#QueueDoesNotExist\",\"message\":\"The specified queue does not exist.\"}",
      1, "AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist.", "" },
    { "503 without body", 503, NULL, NULL, NULL, "", 1, "503", "", "" },
    { "malformed XML: status as code", 500, "text/xml", NULL, NULL, "<Error><Code>Internal", 1, "500", "", "" },
    { "malformed JSON: status as code", 502, "application/json", NULL, NULL, "{\"__type\":", 1, "502", "", "" },
    { "HTML error page from a proxy", 504, "text/html", NULL, NULL, "<html><body>Gateway Timeout</body></html>", 1, "504", "", "" },
    { "success is no error", 200, "text/xml", NULL, NULL,
      "<DescribeInstancesResponse><requestId>x</requestId><reservationSet/></DescribeInstancesResponse>", 0, "", "", "" },
    { "success JSON is no error", 200, "application/x-amz-json-1.1", NULL, NULL, "{\"Findings\":[]}", 0, "", "", "" },
    { "entity expansion is refused", 400, "text/xml", NULL, NULL,
      "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;\">]>"
      "<ErrorResponse><Error><Code>&lol2;</Code></Error></ErrorResponse>", 1, "400", "", "" },
    { "control characters are cleaned", 400, "text/xml", NULL, NULL,
      "<ErrorResponse><Error><Code>Bad</Code><Message>line1\nline2\t</Message></Error></ErrorResponse>",
      1, "Bad", "line1 line2", "" },
};

int main(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct tcase *c = &cases[i];
        struct irh_awserror e;
        int rc = irh_awserror_parse(c->status, c->ctype, c->errortype, c->query_error, c->body, strlen(c->body), &e);
        int ok = rc == c->want_rc && strcmp(e.code, c->code) == 0 && strcmp(e.message, c->message) == 0 &&
                 strcmp(e.request_id, c->request_id) == 0;
        CHECK(ok, "%s", c->name);
        if (!ok) printf("#   rc=%d code=[%s] message=[%s] request_id=[%s]\n", rc, e.code, e.message, e.request_id);
    }
    char t1[] = "aws.protocoljson#FooError", t2[] = "FooError:http://x/y", t3[] = "Plain";
    irh_awserror_trim_type(t1); irh_awserror_trim_type(t2); irh_awserror_trim_type(t3);
    CHECK(!strcmp(t1, "FooError") && !strcmp(t2, "FooError") && !strcmp(t3, "Plain"), "trim_type as botocore");
    char acct[16];
    const char *gci = "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult>"
                      "<Arn>arn:aws:iam::111122223333:user/a</Arn><UserId>AIDA</UserId><Account>111122223333</Account>"
                      "</GetCallerIdentityResult></GetCallerIdentityResponse>";
    CHECK(irh_xml_first_text(gci, strlen(gci), "Account", acct, sizeof acct) == 0 && !strcmp(acct, "111122223333"),
          "first element text (GetCallerIdentity account)");
    CHECK(irh_xml_first_text(gci, strlen(gci), "Missing", acct, sizeof acct) == -1 && !acct[0], "absent element");
    struct irh_awserror e;
    CHECK(irh_awserror_parse(500, NULL, NULL, NULL, NULL, 0, &e) == 1 && !strcmp(e.code, "500"), "NULL body");
    return unit_done();
}
