"""account: contact information and alternate contacts (what an account runbook
checks for tampering)."""
from ..errors import AwsError

SERVICE = "account"
TYPES = ("BILLING", "OPERATIONS", "SECURITY")


def get_alternate_contact(ctx, p):
    t = p["AlternateContactType"]
    if t not in TYPES:
        raise AwsError("ValidationException", f"Invalid AlternateContactType: {t}")
    c = ctx.state.setdefault("alternate_contacts", {}).get(t)
    if c is None:
        raise AwsError("ResourceNotFoundException", "No contact of the inputted alternate contact type found.",
                       status=404)
    return {"AlternateContact": c}


def put_alternate_contact(ctx, p):
    t = p["AlternateContactType"]
    if t not in TYPES:
        raise AwsError("ValidationException", f"Invalid AlternateContactType: {t}")
    ctx.state.setdefault("alternate_contacts", {})[t] = {
        "AlternateContactType": t, "Name": p["Name"], "EmailAddress": p["EmailAddress"],
        "PhoneNumber": p["PhoneNumber"], "Title": p["Title"]}
    return {}


def get_contact_information(ctx, p):
    info = ctx.state.get("contact_information")
    if info is None:
        raise AwsError("ResourceNotFoundException", "No contact information found.", status=404)
    return {"ContactInformation": info}


def put_contact_information(ctx, p):
    ctx.state["contact_information"] = p["ContactInformation"]
    return {}


OPERATIONS = {"GetAlternateContact": get_alternate_contact, "PutAlternateContact": put_alternate_contact,
              "GetContactInformation": get_contact_information, "PutContactInformation": put_contact_information}


# Run by test_faithful.py through botocore on the demo world: (operation, params, check).
FAITHFUL_CASES = [
    ("GetContactInformation", {}, lambda r: r["ContactInformation"]["FullName"] == "Acme Corp"),
    ("GetAlternateContact", {"AlternateContactType": "SECURITY"},
     lambda r: r["AlternateContact"]["EmailAddress"] == "secops@example.com"),
    ("PutAlternateContact", {"AlternateContactType": "BILLING", "Name": "B", "EmailAddress": "b@example.com",
                                        "PhoneNumber": "+1-206-555-0101", "Title": "Billing"}, None),
    ("PutContactInformation", {"ContactInformation": {
        "FullName": "Acme Corp", "AddressLine1": "1 Example Way", "City": "Seattle", "CountryCode": "US",
        "PhoneNumber": "+1-206-555-0100", "PostalCode": "98101"}}, None),
]
