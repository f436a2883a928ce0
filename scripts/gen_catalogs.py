"""Generate ``membrane_sandbox/catalogs/{vtiger,1crm,bigtincan}.json`` from compact tables.

Run ``.venv/bin/python scripts/gen_catalogs.py``; commit both this script and the JSON. The
runtime reads only the JSON.

Field spec grammar (one string per field)::

    type[!][#][=opt1|opt2][@Ref1|Ref2][~gen]     ! required, # read only, ~ fake-data hint

How the seeds' items became catalog entries
-------------------------------------------
Vtiger: the seed's 34 items map to Vtiger's real web-service module names (Activities ->
Calendar, Sales Orders -> SalesOrder, SMS -> SMSNotifier, Comments -> ModComments, Help Desk ->
HelpDesk, Currencies -> Currency, Taxes -> Tax, ...); the "Custom Module" is ``Shipments``.
Every module is reachable through the eight seed actions, which take the module as a parameter.

1CRM: per-object actions for every seed item that is a kind of record:
  * full CRUD + search: Account, Contact, Lead, Opportunity, Case, Task, Meeting, Call, Campaign,
    Product, Quote, Invoice, Purchase Order, Supplier, Document, Project, Note, User;
  * full CRUD without search (small lists, picked by id or filter): Target List, Project Task,
    Time Entry, Expense, Event, Role, Team, Workflow, Report, Dashboard, Custom Module (records of
    a custom module), Subscription, Tax Rate, Currency, Email/SMS/PDF Template;
  * read-mostly metadata: Layout (list/get: derived from the catalog), Picklist (list/get/update
    the options of a picklist field);
  * singletons with get/update only: System Settings, User Settings (the current user's);
  * operations, not objects: Global Search (``global-search``), Import (``import-records``),
    Export (``export-records``), Mass Update (``mass-update-records``) and Relationship
    (``list-related-records``, ``link-records``, ``unlink-records``, over reference fields).

Bigtincan: Story, Story Content, Space, Group, User get list/get/create/update/delete (and
search where it has text to search); Search is the cross-object ``search-content`` operation.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from membrane_sandbox.apps.base import ActionSpec  # noqa: E402
from membrane_sandbox.apps.catalog import (  # noqa: E402
    FIELD_TYPES,
    Catalog,
    FieldDef,
    ObjectDef,
    catalog_to_json,
)
from membrane_sandbox.apps.schemas import (  # noqa: E402
    MAX_PAGE,
    crud_action,
    paging_properties,
)

log = logging.getLogger("gen_catalogs")
OUT = ROOT / "membrane_mcp" / "sandbox" / "catalogs"

_SPEC = re.compile(
    r"^(?P<type>[a-z]+)(?P<req>!)?(?P<ro>#)?(?:=(?P<opts>[^@~]+))?(?:@(?P<ref>[^~]+))?(?:~(?P<gen>.+))?$"
)

FieldRow = tuple[str, str, str]


def parse_field(row: FieldRow) -> FieldDef:
    name, label, spec = row
    m = _SPEC.match(spec)
    if not m or m["type"] not in FIELD_TYPES:
        raise ValueError(f"bad field spec {row!r}")
    return FieldDef(
        name=name,
        label=label,
        type=m["type"],
        required=bool(m["req"]),
        readonly=bool(m["ro"]),
        picklist=tuple(m["opts"].split("|")) if m["opts"] else (),
        ref=tuple(m["ref"].split("|")) if m["ref"] else (),
        gen=m["gen"],
    )


# =========================================================================================
# Vtiger
# =========================================================================================

VT_LEADSOURCE = (
    "picklist=Cold Call|Existing Customer|Self Generated|Employee|Partner|Public Relations|"
    "Direct Mail|Conference|Trade Show|Web Site|Word of mouth|Other"
)
VT_INDUSTRY = (
    "picklist=Apparel|Banking|Biotechnology|Chemicals|Communications|Construction|Consulting|"
    "Education|Electronics|Energy|Engineering|Entertainment|Finance|Government|Healthcare|"
    "Hospitality|Insurance|Machinery|Manufacturing|Media|Retail|Technology|Transportation|Other"
)
VT_SALES_STAGE = (
    "picklist=Prospecting|Qualification|Needs Analysis|Value Proposition|Id. Decision Makers|"
    "Perception Analysis|Proposal or Price Quote|Negotiation or Review|Closed Won|Closed Lost"
)
VT_ADDR = (
    ("bill_street", "Billing Address", "string~street"),
    ("bill_city", "Billing City", "string~city"),
    ("bill_state", "Billing State", "string~state"),
    ("bill_code", "Billing Postal Code", "string~zip"),
    ("bill_country", "Billing Country", "string~country"),
)
VT_INVENTORY = (
    ("hdnSubTotal", "Items Total", "currency#~amount"),
    ("hdnGrandTotal", "Grand Total", "currency#~amount"),
    ("hdnTaxType", "Tax Mode", "picklist=group|individual"),
    ("currency_id", "Currency", "reference@Currency"),
)

# (module, label, singular, plural, number, seed_count, name_field, synonyms, fields)
VT_MODULES: list[tuple[str, str, str, str, int, int, str, tuple[str, ...], tuple[FieldRow, ...]]] = [
    (
        "Contacts",
        "Contacts",
        "contact",
        "contacts",
        12,
        300,
        "lastname",
        ("people", "person"),
        (
            ("contact_no", "Contact Id", "string#~seq:CON"),
            ("salutationtype", "Salutation", "picklist=Mr.|Ms.|Mrs.|Dr.|Prof."),
            ("firstname", "First Name", "string"),
            ("lastname", "Last Name", "string!"),
            ("email", "Primary Email", "email"),
            ("secondaryemail", "Secondary Email", "email"),
            ("phone", "Office Phone", "phone"),
            ("mobile", "Mobile Phone", "phone"),
            ("title", "Title", "string~job_title"),
            (
                "department",
                "Department",
                "string~pick:Sales|Marketing|Finance|IT|Operations|Support|Procurement",
            ),
            ("account_id", "Organization Name", "reference@Accounts"),
            ("contact_id", "Reports To", "reference@Contacts"),
            ("leadsource", "Lead Source", VT_LEADSOURCE),
            ("birthday", "Date of Birth", "date"),
            ("emailoptout", "Email Opt Out", "boolean"),
            ("donotcall", "Do Not Call", "boolean"),
            ("mailingstreet", "Mailing Street", "string~street"),
            ("mailingcity", "Mailing City", "string~city"),
            ("mailingstate", "Mailing State", "string~state"),
            ("mailingzip", "Mailing Zip", "string~zip"),
            ("mailingcountry", "Mailing Country", "string~country"),
            ("description", "Description", "text"),
        ),
    ),
    (
        "Leads",
        "Leads",
        "lead",
        "leads",
        10,
        250,
        "lastname",
        ("prospects", "prospect"),
        (
            ("lead_no", "Lead Id", "string#~seq:LEA"),
            ("firstname", "First Name", "string"),
            ("lastname", "Last Name", "string!"),
            ("company", "Company", "string~company"),
            ("email", "Primary Email", "email"),
            ("phone", "Primary Phone", "phone"),
            ("mobile", "Mobile Phone", "phone"),
            ("designation", "Title", "string~job_title"),
            ("leadsource", "Lead Source", VT_LEADSOURCE),
            (
                "leadstatus",
                "Lead Status",
                "picklist=Attempted to Contact|Cold|Contact in Future|Contacted|Hot|"
                "Junk Lead|Lost Lead|Not Contacted|Pre Qualified|Qualified|Warm",
            ),
            ("industry", "Industry", VT_INDUSTRY),
            ("annualrevenue", "Annual Revenue", "currency~amount"),
            ("noofemployees", "Number of Employees", "integer~qty"),
            ("rating", "Rating", "picklist=Acquired|Active|Market Failed|Project Cancelled|Shutdown"),
            ("city", "City", "string~city"),
            ("country", "Country", "string~country"),
            ("description", "Description", "text"),
        ),
    ),
    (
        "Potentials",
        "Deals",
        "deal",
        "deals",
        13,
        200,
        "potentialname",
        ("potentials", "potential", "opportunities", "opportunity", "deal"),
        (
            ("potential_no", "Deal Number", "string#~seq:POT"),
            ("potentialname", "Deal Name", "string!~deal"),
            ("amount", "Amount", "currency~amount"),
            ("related_to", "Organization Name", "reference!@Accounts"),
            ("contact_id", "Contact Name", "reference@Contacts"),
            ("closingdate", "Expected Close Date", "date!"),
            ("sales_stage", "Sales Stage", VT_SALES_STAGE.replace("picklist=", "picklist!=")),
            ("probability", "Probability", "percentage~percent"),
            ("opportunity_type", "Type", "picklist=New Business|Existing Business"),
            ("leadsource", "Lead Source", VT_LEADSOURCE),
            ("nextstep", "Next Step", "string~subject"),
            ("campaignid", "Campaign Source", "reference@Campaigns"),
            ("forecast_amount", "Forecast Amount", "currency~amount"),
            ("description", "Description", "text"),
        ),
    ),
    (
        "Accounts",
        "Organizations",
        "organization",
        "organizations",
        11,
        150,
        "accountname",
        ("accounts", "account", "companies", "company", "organisations", "customers"),
        (
            ("account_no", "Organization Number", "string#~seq:ACC"),
            ("accountname", "Organization Name", "string!~company"),
            ("website", "Website", "url"),
            ("phone", "Primary Phone", "phone"),
            ("email1", "Primary Email", "email"),
            ("industry", "Industry", VT_INDUSTRY),
            (
                "accounttype",
                "Type",
                "picklist=Analyst|Competitor|Customer|Integrator|Investor|Partner|Press|Prospect|"
                "Reseller|Other",
            ),
            ("annual_revenue", "Annual Revenue", "currency~amount"),
            ("employees", "Employees", "integer~qty"),
            ("rating", "Rating", "picklist=Acquired|Active|Market Failed|Project Cancelled|Shutdown"),
            ("account_id", "Member Of", "reference@Accounts"),
            *VT_ADDR,
            ("description", "Description", "text"),
        ),
    ),
    (
        "Quotes",
        "Quotes",
        "quote",
        "quotes",
        4,
        120,
        "subject",
        ("quotation", "quotations", "estimates"),
        (
            ("quote_no", "Quote Number", "string#~seq:QUO"),
            ("subject", "Subject", "string!~deal"),
            ("quotestage", "Quote Stage", "picklist!=Created|Delivered|Reviewed|Accepted|Rejected"),
            ("potential_id", "Deal Name", "reference@Potentials"),
            ("account_id", "Organization Name", "reference!@Accounts"),
            ("contact_id", "Contact Name", "reference@Contacts"),
            ("validtill", "Valid Till", "date"),
            ("carrier", "Carrier", "picklist=FedEx|UPS|USPS|DHL|BlueDart"),
            *VT_INVENTORY,
            *VT_ADDR,
            ("terms_conditions", "Terms & Conditions", "text"),
        ),
    ),
    (
        "SalesOrder",
        "Sales Orders",
        "sales-order",
        "sales-orders",
        6,
        100,
        "subject",
        ("orders", "order"),
        (
            ("salesorder_no", "Sales Order Number", "string#~seq:SO"),
            ("subject", "Subject", "string!~deal"),
            ("sostatus", "Status", "picklist!=Created|Approved|Delivered|Cancelled"),
            ("account_id", "Organization Name", "reference!@Accounts"),
            ("contact_id", "Contact Name", "reference@Contacts"),
            ("quote_id", "Quote Name", "reference@Quotes"),
            ("potential_id", "Deal Name", "reference@Potentials"),
            ("duedate", "Due Date", "date"),
            ("carrier", "Carrier", "picklist=FedEx|UPS|USPS|DHL|BlueDart"),
            *VT_INVENTORY,
            *VT_ADDR,
        ),
    ),
    (
        "Invoice",
        "Invoices",
        "invoice",
        "invoices",
        7,
        150,
        "subject",
        ("bills", "bill"),
        (
            ("invoice_no", "Invoice Number", "string#~seq:INV"),
            ("subject", "Subject", "string!~deal"),
            (
                "invoicestatus",
                "Status",
                "picklist=AutoCreated|Created|Approved|Sent|Credit Invoice|Paid|Cancel",
            ),
            ("account_id", "Organization Name", "reference!@Accounts"),
            ("contact_id", "Contact Name", "reference@Contacts"),
            ("salesorder_id", "Sales Order", "reference@SalesOrder"),
            ("invoicedate", "Invoice Date", "date"),
            ("duedate", "Due Date", "date"),
            ("received", "Received", "currency~amount"),
            ("balance", "Balance", "currency~amount"),
            *VT_INVENTORY,
            *VT_ADDR,
        ),
    ),
    (
        "Products",
        "Products",
        "product",
        "products",
        14,
        60,
        "productname",
        ("items", "item", "sku"),
        (
            ("product_no", "Product No", "string#~seq:PRO"),
            ("productname", "Product Name", "string!~product"),
            ("productcode", "Part Number", "string~seq:PN-"),
            (
                "productcategory",
                "Product Category",
                "picklist=Hardware|Software|CRM Applications|Accessories|Services",
            ),
            ("manufacturer", "Manufacturer", "picklist=AltvetPet Inc.|LexPon Inc.|MetBeat Corp"),
            ("vendor_id", "Vendor Name", "reference@Vendors"),
            ("unit_price", "Unit Price", "currency~price"),
            ("qtyinstock", "Qty In Stock", "integer~qty"),
            ("reorderlevel", "Reorder Level", "integer~qty"),
            (
                "usageunit",
                "Usage Unit",
                "picklist=Box|Carton|Dozen|Each|Hours|Impressions|Lb|M|Pack|Pages|Pieces|Quantity|"
                "Reams|Sheet|Spiral Binder|Sq Ft",
            ),
            ("discontinued", "Product Active", "boolean"),
            ("sales_start_date", "Sales Start Date", "date"),
            ("description", "Description", "text"),
        ),
    ),
    (
        "Services",
        "Services",
        "service",
        "services",
        25,
        30,
        "servicename",
        (),
        (
            ("service_no", "Service No", "string#~seq:SER"),
            ("servicename", "Service Name", "string!~product"),
            (
                "servicecategory",
                "Service Category",
                "picklist=Support|Installation|Migration|Customization|Training",
            ),
            ("unit_price", "Price", "currency~price"),
            ("service_usageunit", "Usage Unit", "picklist=Hours|Days|Incidents"),
            ("qty_per_unit", "No of Units", "double~qty"),
            ("discontinued", "Active", "boolean"),
            ("description", "Description", "text"),
        ),
    ),
    (
        "Documents",
        "Documents",
        "document",
        "documents",
        15,
        60,
        "notes_title",
        ("files", "file", "attachments"),
        (
            ("note_no", "Document No", "string#~seq:DOC"),
            ("notes_title", "Title", "string!~title"),
            (
                "filename",
                "File Name",
                "string~pick:proposal.pdf|contract.docx|pricing.xlsx|brochure.pdf|deck.pptx",
            ),
            ("filetype", "File Type", "string~pick:application/pdf|application/msword|image/png"),
            ("filesize", "File Size", "integer"),
            ("filelocationtype", "Download Type", "picklist=I|E"),
            ("filestatus", "Active", "boolean"),
            ("folderid", "Folder Name", "string~pick:Default|Marketing|Contracts|Proposals"),
            ("notecontent", "Note", "text"),
        ),
    ),
    (
        "Emails",
        "Emails",
        "email",
        "emails",
        16,
        100,
        "subject",
        ("mails", "messages"),
        (
            ("subject", "Subject", "string!~subject"),
            ("from_email", "From", "email!"),
            ("saved_toid", "To", "email!"),
            ("ccmail", "CC", "email"),
            ("date_start", "Date Sent", "date"),
            ("email_flag", "Email Flag", "picklist=SAVED|SENT|MAILSCANNER"),
            ("parent_id", "Related To", "reference@Contacts|Accounts|Leads"),
            ("description", "Body", "text"),
        ),
    ),
    (
        "SMSNotifier",
        "SMS Messages",
        "sms-message",
        "sms-messages",
        31,
        40,
        "message",
        ("sms", "texts", "text messages"),
        (
            ("message", "Message", "text!"),
            ("tonumbers", "To Numbers", "phone!"),
            ("status", "Status", "picklist=Processing|Dispatched|Delivered|Failed"),
            ("related_to", "Related To", "reference@Contacts|Leads"),
        ),
    ),
    (
        "Campaigns",
        "Campaigns",
        "campaign",
        "campaigns",
        1,
        40,
        "campaignname",
        ("marketing campaigns",),
        (
            ("campaign_no", "Campaign No", "string#~seq:CAM"),
            ("campaignname", "Campaign Name", "string!~campaign"),
            (
                "campaigntype",
                "Campaign Type",
                "picklist=Conference|Webinar|Trade Show|Public Relations|Partners|"
                "Referral Program|Advertisement|Banner Ads|Direct Mail|Email|Telemarketing|Others",
            ),
            ("campaignstatus", "Campaign Status", "picklist=Planning|Active|Inactive|Completed|Cancelled"),
            ("product_id", "Product", "reference@Products"),
            (
                "targetaudience",
                "Target Audience",
                "string~pick:SMB|Enterprise|Partners|Existing Customers|Developers",
            ),
            ("sponsor", "Sponsor", "string~company"),
            ("targetsize", "Target Size", "integer~qty"),
            ("numsent", "Num Sent", "integer~qty"),
            ("budgetcost", "Budget Cost", "currency~amount"),
            ("actualcost", "Actual Cost", "currency~amount"),
            ("expectedrevenue", "Expected Revenue", "currency~amount"),
            ("expectedresponse", "Expected Response", "picklist=Excellent|Good|Average|Poor"),
            ("expectedroi", "Expected ROI", "currency~amount"),
            ("closingdate", "Expected Close Date", "date!"),
            ("description", "Description", "text"),
        ),
    ),
    (
        "Vendors",
        "Vendors",
        "vendor",
        "vendors",
        2,
        30,
        "vendorname",
        ("suppliers", "supplier"),
        (
            ("vendor_no", "Vendor Number", "string#~seq:VEN"),
            ("vendorname", "Vendor Name", "string!~company"),
            ("email", "Email", "email"),
            ("phone", "Phone", "phone"),
            ("website", "Website", "url"),
            (
                "glacct",
                "GL Account",
                "picklist=300-Sales-Software|301-Sales-Hardware|302-Rental-Income|"
                "303-Interest-Income|304-Sales-Software-Support|305-Sales Other",
            ),
            ("category", "Category", "string~pick:Hardware|Software|Logistics|Services"),
            ("city", "City", "string~city"),
            ("country", "Country", "string~country"),
            ("description", "Description", "text"),
        ),
    ),
    (
        "PurchaseOrder",
        "Purchase Orders",
        "purchase-order",
        "purchase-orders",
        5,
        60,
        "subject",
        ("pos", "po"),
        (
            ("purchaseorder_no", "PurchaseOrder No", "string#~seq:PO"),
            ("subject", "Subject", "string!~deal"),
            ("vendor_id", "Vendor Name", "reference!@Vendors"),
            ("postatus", "Status", "picklist!=Created|Approved|Delivered|Cancelled|Received Shipment"),
            ("contact_id", "Contact Name", "reference@Contacts"),
            ("duedate", "Due Date", "date"),
            ("tracking_no", "Tracking Number", "string~seq:TRK"),
            ("carrier", "Carrier", "picklist=FedEx|UPS|USPS|DHL|BlueDart"),
            *VT_INVENTORY,
        ),
    ),
    (
        "PriceBooks",
        "Price Books",
        "price-book",
        "price-books",
        8,
        10,
        "bookname",
        ("pricebooks", "price lists"),
        (
            (
                "bookname",
                "Price Book Name",
                "string!~pick:Standard|Partner|Enterprise|Education|Non-profit|EMEA|APAC",
            ),
            ("active", "Active", "boolean"),
            ("currency_id", "Currency", "reference!@Currency"),
            ("description", "Description", "text"),
        ),
    ),
    (
        "Calendar",
        "Activities",
        "activity",
        "activities",
        9,
        150,
        "subject",
        ("todos", "to-dos", "calendar"),
        (
            ("subject", "Subject", "string!~subject"),
            ("activitytype", "Activity Type", "picklist=Task|Call|Meeting"),
            ("date_start", "Start Date", "date!"),
            ("time_start", "Start Time", "string~pick:09:00:00|10:30:00|13:00:00|15:30:00"),
            ("due_date", "Due Date", "date!"),
            (
                "taskstatus",
                "Status",
                "picklist=Not Started|In Progress|Completed|Pending Input|Deferred|Planned",
            ),
            ("taskpriority", "Priority", "picklist=High|Medium|Low"),
            ("parent_id", "Related To", "reference@Accounts|Potentials|Leads|HelpDesk|Campaigns"),
            ("contact_id", "Contact Name", "reference@Contacts"),
            ("description", "Description", "text"),
        ),
    ),
    (
        "Events",
        "Events",
        "event",
        "events",
        18,
        150,
        "subject",
        ("meetings", "meeting", "calls", "appointments"),
        (
            ("subject", "Subject", "string!~subject"),
            ("activitytype", "Activity Type", "picklist!=Call|Meeting|Mobile Call"),
            ("date_start", "Start Date", "date!"),
            ("time_start", "Start Time", "string!~pick:09:00:00|10:30:00|13:00:00|15:30:00"),
            ("due_date", "End Date", "date!"),
            ("time_end", "End Time", "string~pick:10:00:00|11:30:00|14:00:00|16:30:00"),
            ("duration_hours", "Duration", "integer~pick:0|1|2"),
            ("eventstatus", "Status", "picklist=Planned|Held|Not Held"),
            ("location", "Location", "string~city"),
            ("parent_id", "Related To", "reference@Accounts|Potentials|Leads"),
            ("contact_id", "Contact Name", "reference@Contacts"),
            ("description", "Description", "text"),
        ),
    ),
    (
        "Tasks",
        "Tasks",
        "task",
        "tasks",
        50,
        80,
        "subject",
        ("to do", "action items"),
        (
            ("subject", "Subject", "string!~subject"),
            ("taskstatus", "Status", "picklist=Open|In Progress|Completed|Deferred|Cancelled"),
            ("taskpriority", "Priority", "picklist=Urgent|High|Medium|Low"),
            ("due_date", "Due Date", "date"),
            ("related_to", "Related To", "reference@Accounts|Contacts|Potentials|Project"),
            ("description", "Description", "text"),
        ),
    ),
    (
        "ModComments",
        "Comments",
        "comment",
        "comments",
        29,
        100,
        "commentcontent",
        ("notes", "remarks"),
        (
            ("commentcontent", "Comment", "text!"),
            ("related_to", "Related To", "reference!@Contacts|Accounts|Potentials|HelpDesk|Project"),
            ("creator", "Creator", "owner#@Users"),
            ("parent_comments", "Related To Comments", "reference@ModComments"),
            ("is_private", "Is Private", "boolean"),
        ),
    ),
    (
        "Groups",
        "Groups",
        "group",
        "groups",
        20,
        5,
        "groupname",
        ("teams", "team", "user groups"),
        (
            (
                "groupname",
                "Group Name",
                "string!~pick:Team Selling|Marketing Group|Support Group|EMEA Sales|Partners",
            ),
            ("description", "Description", "text"),
        ),
    ),
    (
        "Users",
        "Users",
        "user",
        "users",
        19,
        12,
        "user_name",
        ("staff", "employees", "agents", "reps"),
        (
            ("first_name", "First Name", "string"),
            ("last_name", "Last Name", "string!"),
            ("user_name", "User Name", "string!~username"),
            ("email1", "Email", "email!"),
            ("status", "Status", "picklist=Active|Inactive"),
            ("is_admin", "Admin", "picklist=on|off"),
            ("roleid", "Role", "reference@Roles"),
            ("title", "Title", "string~job_title"),
            ("department", "Department", "string~pick:Sales|Marketing|Support|Management"),
            ("phone_work", "Office Phone", "phone"),
            (
                "time_zone",
                "Time Zone",
                "picklist=UTC|America/New_York|America/Los_Angeles|Europe/London|Europe/Berlin|"
                "Asia/Kolkata|Australia/Sydney",
            ),
            ("language", "Language", "picklist=en_us|en_gb|de_de|fr_fr|es_es"),
        ),
    ),
    (
        "Roles",
        "Roles",
        "role",
        "roles",
        47,
        6,
        "rolename",
        (),
        (
            (
                "rolename",
                "Role Name",
                "string!~pick:CEO|Vice President|Sales Manager|Sales Man|Support Agent|Marketing",
            ),
            ("parentrole", "Reports To", "reference@Roles"),
            (
                "allowassignedrecordsto",
                "Can Assign Records To",
                "picklist=All Users|Same or Subordinate|Subordinate",
            ),
        ),
    ),
    (
        "Profiles",
        "Profiles",
        "profile",
        "profiles",
        48,
        5,
        "profilename",
        ("permission profiles", "permissions"),
        (
            (
                "profilename",
                "Profile Name",
                "string!~pick:Administrator|Sales Profile|Support Profile|Guest Profile",
            ),
            ("description", "Description", "text"),
            ("viewall", "View All", "boolean"),
            ("editall", "Edit All", "boolean"),
        ),
    ),
    (
        "Currency",
        "Currencies",
        "currency",
        "currencies",
        21,
        4,
        "currency_name",
        (),
        (
            ("currency_name", "Currency Name", "string!~pick:USA, Dollars|Euro|UK, Pounds|India, Rupees"),
            ("currency_code", "Currency Code", "string!~pick:USD|EUR|GBP|INR"),
            ("currency_symbol", "Symbol", "string~pick:$|€|£|₹"),
            ("conversion_rate", "Conversion Rate", "double!~pick:1.0|0.92|0.79|83.1"),
            ("currency_status", "Status", "picklist=Active|Inactive"),
            ("defaultid", "Default", "boolean"),
        ),
    ),
    (
        "Tax",
        "Taxes",
        "tax",
        "taxes",
        34,
        4,
        "taxlabel",
        ("tax rates", "vat"),
        (
            ("taxname", "Tax Name", "string!~pick:tax1|tax2|tax3|tax4"),
            ("taxlabel", "Tax Label", "string!~pick:VAT|Sales|Service|GST"),
            ("percentage", "Percentage", "percentage!~percent"),
            ("deleted", "Disabled", "boolean"),
        ),
    ),
    (
        "InventoryAdjustment",
        "Inventory Adjustments",
        "inventory-adjustment",
        "inventory-adjustments",
        49,
        30,
        "subject",
        ("stock adjustments", "stock"),
        (
            ("adjustment_no", "Adjustment No", "string#~seq:ADJ"),
            ("subject", "Subject", "string!~subject"),
            ("product_id", "Product", "reference!@Products"),
            ("quantity", "Quantity Change", "integer!~qty"),
            ("reason", "Reason", "picklist=Damaged|Stock Count|Returned|Correction|Theft"),
            ("adjustment_date", "Adjustment Date", "date"),
        ),
    ),
    (
        "Project",
        "Projects",
        "project",
        "projects",
        42,
        30,
        "projectname",
        (),
        (
            ("project_no", "Project Number", "string#~seq:PROJ"),
            ("projectname", "Project Name", "string!~deal"),
            ("startdate", "Start Date", "date"),
            ("targetenddate", "Target End Date", "date"),
            (
                "projectstatus",
                "Status",
                "picklist=prospecting|initiated|in progress|waiting for feedback|on hold|completed|"
                "delivered|archived",
            ),
            ("projecttype", "Type", "picklist=administrative|operative|other"),
            ("projectpriority", "Priority", "picklist=low|normal|high"),
            ("linktoaccountscontacts", "Related To", "reference@Accounts|Contacts"),
            ("targetbudget", "Target Budget", "currency~amount"),
            ("progress", "Progress", "picklist=10%|20%|30%|40%|50%|60%|70%|80%|90%|100%"),
            ("description", "Description", "text"),
        ),
    ),
    (
        "ProjectTask",
        "Project Tasks",
        "project-task",
        "project-tasks",
        41,
        120,
        "projecttaskname",
        (),
        (
            ("projecttask_no", "Project Task Number", "string#~seq:PT"),
            ("projecttaskname", "Project Task Name", "string!~subject"),
            ("projectid", "Related To", "reference!@Project"),
            ("projecttaskpriority", "Priority", "picklist=low|normal|high"),
            ("projecttasktype", "Type", "picklist=administrative|operative|other"),
            ("projecttaskprogress", "Progress", "picklist=10%|20%|30%|40%|50%|60%|70%|80%|90%|100%"),
            ("projecttaskstatus", "Status", "picklist=Open|In Progress|Completed|Deferred|Canceled"),
            ("startdate", "Start Date", "date"),
            ("enddate", "End Date", "date"),
            ("projecttaskhours", "Worked Hours", "double~qty"),
        ),
    ),
    (
        "ProjectMilestone",
        "Project Milestones",
        "project-milestone",
        "project-milestones",
        40,
        40,
        "projectmilestonename",
        ("milestones", "milestone"),
        (
            ("projectmilestone_no", "Project Milestone No", "string#~seq:PM"),
            ("projectmilestonename", "Project Milestone Name", "string!~subject"),
            ("projectid", "Related To", "reference!@Project"),
            ("projectmilestonedate", "Milestone Date", "date"),
            ("projectmilestonetype", "Type", "picklist=administrative|operative|other"),
            ("description", "Description", "text"),
        ),
    ),
    (
        "Assets",
        "Assets",
        "asset",
        "assets",
        28,
        60,
        "assetname",
        ("equipment", "installed products"),
        (
            ("asset_no", "Asset No", "string#~seq:AST"),
            ("assetname", "Asset Name", "string!~product"),
            ("product", "Product Name", "reference!@Products"),
            ("serialnumber", "Serial Number", "string!~seq:SN-"),
            ("account", "Customer Name", "reference@Accounts"),
            ("datesold", "Date Sold", "date!"),
            ("dateinservice", "Date in Service", "date!"),
            ("assetstatus", "Status", "picklist=In Service|Out-of-service"),
            ("tagnumber", "Tag Number", "string~seq:TAG"),
            ("description", "Description", "text"),
        ),
    ),
    (
        "ServiceContracts",
        "Service Contracts",
        "service-contract",
        "service-contracts",
        26,
        40,
        "subject",
        ("contracts", "contract", "slas", "support contracts"),
        (
            ("contract_no", "Contract Number", "string#~seq:SERCON"),
            ("subject", "Subject", "string!~deal"),
            ("sc_related_to", "Related To", "reference@Accounts|Contacts"),
            ("contract_type", "Type", "picklist=Support|Services|Administrative"),
            (
                "contract_status",
                "Status",
                "picklist=Undefined|In Planning|In Progress|On Hold|Complete|Archived",
            ),
            ("contract_priority", "Priority", "picklist=Low|Normal|High"),
            ("start_date", "Start Date", "date"),
            ("due_date", "Due date", "date"),
            ("tracking_unit", "Tracking Unit", "picklist=None|Hours|Days|Incidents"),
            ("total_units", "Total Units", "double~qty"),
            ("used_units", "Used Units", "double~qty"),
        ),
    ),
    (
        "HelpDesk",
        "Tickets",
        "ticket",
        "tickets",
        17,
        200,
        "ticket_title",
        ("helpdesk", "help desk", "cases", "case", "support tickets", "issues", "trouble tickets"),
        (
            ("ticket_no", "Ticket Number", "string#~seq:TT"),
            ("ticket_title", "Title", "string!~problem"),
            ("parent_id", "Organization Name", "reference@Accounts"),
            ("contact_id", "Contact Name", "reference@Contacts"),
            ("product_id", "Product Name", "reference@Products"),
            ("ticketstatus", "Status", "picklist!=Open|In Progress|Wait For Response|Closed"),
            ("ticketpriorities", "Priority", "picklist=Low|Normal|High|Urgent"),
            ("ticketseverities", "Severity", "picklist=Minor|Major|Feature|Critical"),
            ("ticketcategories", "Category", "picklist=Big Problem|Small Problem|Other Problem"),
            ("hours", "Hours", "double~qty"),
            ("days", "Days", "double~qty"),
            ("description", "Description", "text"),
            ("solution", "Solution", "text"),
        ),
    ),
    (
        "Shipments",
        "Shipments",
        "shipment",
        "shipments",
        60,
        30,
        "shipment_name",
        ("deliveries", "custom module"),
        (
            ("shipment_no", "Shipment No", "string#~seq:SHP"),
            ("shipment_name", "Shipment Name", "string!~deal"),
            ("salesorder_id", "Sales Order", "reference@SalesOrder"),
            ("cf_carrier", "Carrier", "picklist=FedEx|UPS|USPS|DHL|BlueDart"),
            ("cf_tracking_number", "Tracking Number", "string~seq:1Z"),
            ("cf_ship_date", "Ship Date", "date"),
            ("cf_shipment_status", "Status", "picklist=Preparing|Shipped|In Transit|Delivered|Returned"),
            ("cf_weight_kg", "Weight (kg)", "double~qty"),
        ),
    ),
]

VT_SYSTEM: tuple[FieldRow, ...] = (
    ("assigned_user_id", "Assigned To", "owner!@Users|Groups"),
    ("createdtime", "Created Time", "datetime#"),
    ("modifiedtime", "Modified Time", "datetime#"),
)
VT_ID_PATTERN = r"^[0-9]+x[0-9]+$"


def vtiger_objects() -> list[ObjectDef]:
    objs = []
    for key, label, singular, plural, number, count, name_field, syn, rows in VT_MODULES:
        extra_rows = (
            VT_SYSTEM
            if key not in ("Users", "Groups", "Roles", "Profiles", "Currency", "Tax")
            else (
                ("createdtime", "Created Time", "datetime#"),
                ("modifiedtime", "Modified Time", "datetime#"),
            )
        )
        fields = (
            FieldDef(name="id", label="Record Id", type="autogenerated", readonly=True),
            *(parse_field(r) for r in rows),
            *(parse_field(r) for r in extra_rows),
        )
        objs.append(
            ObjectDef(
                key=key,
                label=label,
                singular=singular,
                plural=plural,
                fields=fields,
                name_field=name_field,
                synonyms=tuple(dict.fromkeys((key.lower(), *syn))),
                seed_count=count,
                searchable=True,
                extra={"number": number, **({"custom": True} if key == "Shipments" else {})},
            )
        )
    return objs


def vtiger_actions(objs: list[ObjectDef]) -> list[ActionSpec]:
    modules = [o.key for o in objs]
    module_list = ", ".join(f"{o.key} ({o.label})" for o in objs)
    element_type = {
        "type": "string",
        "enum": modules,
        "description": f"Vtiger module name. One of: {module_list}.",
    }
    vid = {"type": "string", "pattern": VT_ID_PATTERN}
    record = {
        "type": "object",
        "description": "A Vtiger record: `id` (<moduleNumber>x<recordNumber>) plus the module's fields. "
        'Vtiger sends every value as a string (numbers like "1500.00", booleans as "0"/"1").',
        "properties": {
            "id": {**vid, "description": "Record id, e.g. 12x34."},
            "assigned_user_id": {
                "type": "string",
                "description": "Id of the owning user (19x...) or group (20x...).",
            },
            "createdtime": {"type": "string", "description": "Creation time, 'YYYY-MM-DD HH:MM:SS' (UTC)."},
            "modifiedtime": {
                "type": "string",
                "description": "Last modification time, 'YYYY-MM-DD HH:MM:SS' (UTC).",
            },
        },
        "required": ["id"],
        "additionalProperties": True,
    }
    element = {
        "type": "object",
        "description": "Field values keyed by field name (see describe-module for a module's fields, "
        "e.g. Contacts: "
        "lastname (required), firstname, email, phone, account_id; Potentials: potentialname, related_to, "
        "closingdate, sales_stage (required), amount). Reference fields take record ids like 11x5; "
        "assigned_user_id defaults to the current user.",
        "additionalProperties": True,
    }
    picklist_value = {
        "type": "object",
        "properties": {
            "label": {"type": "string", "description": "Display label."},
            "value": {"type": "string", "description": "Stored value."},
        },
        "required": ["label", "value"],
        "additionalProperties": False,
    }
    describe_field = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "description": "Field name used in queries and elements."},
            "label": {"type": "string", "description": "Field label shown in Vtiger."},
            "mandatory": {"type": "boolean", "description": "True if the field is required on create."},
            "editable": {"type": "boolean", "description": "False for read-only fields."},
            "nullable": {"type": "boolean", "description": "True if the field may be empty."},
            "isunique": {"type": "boolean", "description": "True if values must be unique."},
            "default": {"type": "string", "description": "Default value, empty if none."},
            "type": {
                "type": "object",
                "description": "Field type.",
                "properties": {
                    "name": {
                        "type": "string",
                        "description": "Type name: string, email, phone, url, text, integer, "
                        "double, currency, percentage, boolean, date, datetime, picklist, multipicklist, "
                        "reference, owner or autogenerated.",
                    },
                    "picklistValues": {
                        "type": "array",
                        "items": picklist_value,
                        "description": "Allowed values (picklists).",
                    },
                    "refersTo": {
                        "type": "array",
                        "items": {"type": "string", "description": "Module name."},
                        "description": "Modules a reference field may point to.",
                    },
                    "format": {"type": "string", "description": "Date format (dates)."},
                },
                "required": ["name"],
                "additionalProperties": False,
            },
            "block": {
                "type": "object",
                "description": "The layout block that holds the field.",
                "properties": {
                    "blockid": {"type": "string", "description": "Block id."},
                    "blocklabel": {"type": "string", "description": "Block label."},
                },
                "required": ["blockid", "blocklabel"],
                "additionalProperties": False,
            },
        },
        "required": ["name", "label", "mandatory", "type"],
        "additionalProperties": False,
    }
    bool_desc = {
        "createable": "Whether the current user may create records.",
        "updateable": "Whether the current user may update records.",
        "deleteable": "Whether the current user may delete records.",
        "retrieveable": "Whether the current user may read records.",
        "isEntity": "True for record modules.",
    }
    describe_out = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "description": "Module name."},
            "label": {"type": "string", "description": "Module label (plural)."},
            "singular": {"type": "string", "description": "Singular label."},
            **{k: {"type": "boolean", "description": d} for k, d in bool_desc.items()},
            "idPrefix": {"type": "string", "description": "The module number that prefixes record ids."},
            "labelFields": {
                "type": "string",
                "description": "Comma-separated fields that make a record's label.",
            },
            "fields": {"type": "array", "items": describe_field, "description": "Every field of the module."},
            "blocks": {
                "type": "array",
                "description": "Layout blocks, in order, with their field names.",
                "items": {
                    "type": "object",
                    "properties": {
                        "blockid": {"type": "string", "description": "Block id."},
                        "blocklabel": {"type": "string", "description": "Block label."},
                        "fields": {
                            "type": "array",
                            "items": {"type": "string", "description": "Field name."},
                            "description": "Fields in the block.",
                        },
                    },
                    "required": ["blockid", "blocklabel", "fields"],
                    "additionalProperties": False,
                },
            },
        },
        "required": ["name", "label", "fields", "idPrefix"],
        "additionalProperties": False,
    }
    user = {
        "type": "object",
        "properties": {
            "id": {**vid, "description": "The user's record id (19x...)."},
            "user_name": {"type": "string", "description": "Login name."},
            "first_name": {"type": "string", "description": "First name."},
            "last_name": {"type": "string", "description": "Last name."},
            "email1": {"type": "string", "format": "email", "description": "Email address."},
            "is_admin": {
                "type": "string",
                "enum": ["on", "off"],
                "description": "Whether the user is an admin.",
            },
            "status": {"type": "string", "description": "Active or Inactive."},
            "roleid": {"type": "string", "description": "Role record id."},
            "title": {"type": "string", "description": "Job title."},
            "time_zone": {"type": "string", "description": "Time zone."},
            "language": {"type": "string", "description": "UI language."},
        },
        "required": ["id", "user_name", "email1"],
        "additionalProperties": True,
    }
    empty_input = {"type": "object", "properties": {}, "required": [], "additionalProperties": False}
    return [
        ActionSpec(
            key="query-records",
            name="Query Records",
            description="Queries records of one Vtiger module with Vtiger's SQL-like query language "
            "(SELECT fields|*|count(*) FROM Module WHERE ... ORDER BY ... LIMIT ...;) and returns "
            "the matching "
            "records (at most 100 per page) with a cursor for the next page.",
            type="list-data-records",
            input_schema={
                "type": "object",
                "properties": {
                    "query": {
                        "type": "string",
                        "minLength": 1,
                        "description": "A Vtiger query, e.g. SELECT firstname, lastname, email FROM "
                        "Contacts WHERE "
                        "mailingcity = 'Berlin' AND lastname LIKE 'Sm%' ORDER BY lastname DESC LIMIT 10; "
                        "Operators: = != <> < > <= >= LIKE (with %), IN (...), IS NULL, AND, OR, "
                        "parentheses. "
                        f"Modules: {', '.join(modules)}.",
                    },
                    "cursor": {"type": "string", "description": "The `cursor` from the previous page."},
                },
                "required": ["query"],
                "additionalProperties": False,
            },
            output_schema={
                "type": "object",
                "properties": {
                    "records": {
                        "type": "array",
                        "description": "Matching records with the selected fields (and id); for count(*) one "
                        'record {"count": "<n>"}.',
                        "items": {**record, "required": []},
                    },
                    "cursor": {
                        "type": "string",
                        "description": "Pass back as `cursor` for the next page; absent on the last page.",
                    },
                },
                "required": ["records"],
                "additionalProperties": False,
            },
            impl={"op": "query"},
        ),
        ActionSpec(
            key="retrieve-record",
            name="Retrieve Record",
            description="Retrieves one Vtiger record of any module by its id (e.g. 12x34 for a contact) and "
            "returns all of its fields.",
            type="find-data-record-by-id",
            input_schema={
                "type": "object",
                "properties": {
                    "id": {**vid, "description": "Record id, <moduleNumber>x<recordNumber>, e.g. 12x34."}
                },
                "required": ["id"],
                "additionalProperties": False,
            },
            output_schema=record,
            impl={"op": "retrieve"},
        ),
        ActionSpec(
            key="create-record",
            name="Create Record",
            description="Creates a new record in the given Vtiger module (elementType) from field values "
            "(element) and returns the created record with its new id.",
            type="create-data-record",
            input_schema={
                "type": "object",
                "properties": {"elementType": element_type, "element": element},
                "required": ["elementType", "element"],
                "additionalProperties": False,
            },
            output_schema=record,
            impl={"op": "create-record"},
        ),
        ActionSpec(
            key="update-record",
            name="Update Record",
            description="Updates an existing Vtiger record by id: only the fields given in element change "
            "(like Vtiger's revise); returns the full updated record.",
            type="update-data-record",
            input_schema={
                "type": "object",
                "properties": {
                    "id": {
                        **vid,
                        "description": "Id of the record to update, e.g. 12x34 (element.id also works).",
                    },
                    "element": {
                        **element,
                        "description": "Fields to change, keyed by field name; fields not "
                        "given keep their values.",
                    },
                },
                "required": ["id", "element"],
                "additionalProperties": False,
            },
            output_schema=record,
            impl={"op": "update-record"},
        ),
        ActionSpec(
            key="delete-record",
            name="Delete Record",
            description="Deletes a Vtiger record of any module by its id and returns {status: 'successful'}.",
            type="delete-data-record",
            input_schema={
                "type": "object",
                "properties": {"id": {**vid, "description": "Id of the record to delete, e.g. 12x34."}},
                "required": ["id"],
                "additionalProperties": False,
            },
            output_schema={
                "type": "object",
                "properties": {
                    "status": {
                        "type": "string",
                        "enum": ["successful"],
                        "description": "Always 'successful'.",
                    },
                    "id": {**vid, "description": "Id of the deleted record."},
                },
                "required": ["status"],
                "additionalProperties": False,
            },
            impl={"op": "delete-record"},
        ),
        ActionSpec(
            key="describe-module",
            name="Describe Module",
            description="Retrieves detailed metadata about a Vtiger module: its fields (name, label, type, "
            "mandatory, picklist values, referenced modules), layout blocks, id prefix and the "
            "current user's "
            "permissions on it.",
            type="connector-operation",
            input_schema={
                "type": "object",
                "properties": {
                    "elementType": {
                        **element_type,
                        "description": "Module to describe. " + element_type["description"],
                    }
                },
                "required": ["elementType"],
                "additionalProperties": False,
            },
            output_schema=describe_out,
            impl={"op": "describe"},
        ),
        ActionSpec(
            key="list-modules",
            name="List Modules",
            description="Lists all Vtiger modules (entity types) the current user can access, with "
            "each module's "
            "name, label and id prefix.",
            type="connector-operation",
            input_schema=empty_input,
            output_schema={
                "type": "object",
                "properties": {
                    "modules": {
                        "type": "array",
                        "description": "Accessible modules.",
                        "items": {
                            "type": "object",
                            "properties": {
                                "name": {"type": "string", "description": "Module name used as elementType."},
                                "label": {"type": "string", "description": "Plural label."},
                                "singular": {"type": "string", "description": "Singular label."},
                                "isEntity": {"type": "boolean", "description": "True for record modules."},
                                "isCustom": {"type": "boolean", "description": "True for custom modules."},
                                "idPrefix": {"type": "string", "description": "Module number in record ids."},
                            },
                            "required": ["name", "label", "singular", "isEntity", "idPrefix"],
                            "additionalProperties": False,
                        },
                    }
                },
                "required": ["modules"],
                "additionalProperties": False,
            },
            impl={"op": "list-modules"},
        ),
        ActionSpec(
            key="get-current-user",
            name="Get Current User",
            description="Retrieves the currently authenticated Vtiger user: id, user name, name, email, "
            "admin flag, role and preferences.",
            type="connector-operation",
            input_schema=empty_input,
            output_schema=user,
            impl={"op": "me"},
        ),
    ]


def vtiger_catalog() -> Catalog:
    objs = vtiger_objects()
    return Catalog(
        key="vtiger",
        name="Vtiger",
        description="Vtiger is a CRM platform that helps businesses manage their sales, marketing, "
        "and customer "
        "support activities.",
        logo_uri="https://static.integration.app/connectors/vtiger/logo.png",
        base_url="https://sandbox.od2.vtiger.com/restapi/v1/vtiger/default",
        objects=tuple(objs),
        actions=tuple(vtiger_actions(objs)),
    )


# =========================================================================================
# 1CRM
# =========================================================================================

OC_LEAD_SOURCE = (
    "picklist=Cold Call|Existing Customer|Self Generated|Employee|Partner|Web Site|Trade Show|Email|Other"
)
OC_MODULES_PICK = "Account|Contact|Lead|Opportunity|Case|Task|Meeting|Call|Campaign|Quote|Invoice|Project"
OC_OWNER: FieldRow = ("assigned_user_id", "Assigned User", "reference@User")
OC_STAMPS: tuple[FieldRow, ...] = (
    ("date_entered", "Date Created", "datetime#"),
    ("date_modified", "Date Modified", "datetime#"),
)

# (model, label, singular, plural, seed_count, name_field, searchable, ops, synonyms, fields)
OC_OBJECTS: list[
    tuple[str, str, str, str, int, str, bool, tuple[str, ...], tuple[str, ...], tuple[FieldRow, ...]]
] = [
    (
        "User",
        "Users",
        "user",
        "users",
        15,
        "user_name",
        True,
        (),
        ("staff", "employees", "reps"),
        (
            ("first_name", "First Name", "string"),
            ("last_name", "Last Name", "string!"),
            ("user_name", "User Name", "string!~username"),
            ("email1", "Email", "email!"),
            ("title", "Title", "string~job_title"),
            ("department", "Department", "string~pick:Sales|Marketing|Support|Finance|Management"),
            ("phone_work", "Work Phone", "phone"),
            ("status", "Status", "picklist=Active|Inactive"),
            ("is_admin", "Administrator", "boolean"),
        ),
    ),
    (
        "Account",
        "Accounts",
        "account",
        "accounts",
        150,
        "name",
        True,
        (),
        ("companies", "organizations", "customers"),
        (
            ("name", "Name", "string!~company"),
            ("account_type", "Type", "picklist=Customer|Partner|Supplier|Prospect|Reseller|Competitor|Other"),
            (
                "industry",
                "Industry",
                "picklist=Banking|Consulting|Education|Energy|Finance|Government|Healthcare|"
                "Insurance|Manufacturing|Media|Retail|Technology|Transportation|Other",
            ),
            ("phone_office", "Office Phone", "phone"),
            ("email1", "Email", "email"),
            ("website", "Website", "url"),
            ("billing_address_street", "Billing Street", "string~street"),
            ("billing_address_city", "Billing City", "string~city"),
            ("billing_address_state", "Billing State", "string~state"),
            ("billing_address_postalcode", "Billing Postal Code", "string~zip"),
            ("billing_address_country", "Billing Country", "string~country"),
            ("annual_revenue", "Annual Revenue", "currency~amount"),
            ("employees", "Employees", "integer~qty"),
            ("description", "Description", "text"),
            OC_OWNER,
        ),
    ),
    (
        "Contact",
        "Contacts",
        "contact",
        "contacts",
        300,
        "last_name",
        True,
        (),
        ("people", "persons"),
        (
            ("salutation", "Salutation", "picklist=Mr.|Ms.|Mrs.|Dr.|Prof."),
            ("first_name", "First Name", "string"),
            ("last_name", "Last Name", "string!"),
            ("email1", "Email", "email"),
            ("phone_work", "Work Phone", "phone"),
            ("phone_mobile", "Mobile", "phone"),
            ("title", "Title", "string~job_title"),
            ("department", "Department", "string~pick:Sales|Marketing|Finance|IT|Operations|Purchasing"),
            ("primary_account_id", "Account", "reference@Account"),
            ("lead_source", "Lead Source", OC_LEAD_SOURCE),
            ("primary_address_city", "City", "string~city"),
            ("primary_address_country", "Country", "string~country"),
            ("birthdate", "Birthdate", "date"),
            ("email_opt_out", "Email Opt Out", "boolean"),
            ("description", "Description", "text"),
            OC_OWNER,
        ),
    ),
    (
        "Lead",
        "Leads",
        "lead",
        "leads",
        200,
        "last_name",
        True,
        (),
        ("prospects",),
        (
            ("first_name", "First Name", "string"),
            ("last_name", "Last Name", "string!"),
            ("account_name", "Company", "string~company"),
            ("email1", "Email", "email"),
            ("phone_work", "Work Phone", "phone"),
            ("title", "Title", "string~job_title"),
            ("status", "Status", "picklist=New|Assigned|In Process|Converted|Recycled|Dead"),
            ("lead_source", "Lead Source", OC_LEAD_SOURCE),
            ("primary_address_city", "City", "string~city"),
            ("description", "Description", "text"),
            OC_OWNER,
        ),
    ),
    (
        "Opportunity",
        "Opportunities",
        "opportunity",
        "opportunities",
        200,
        "name",
        True,
        (),
        ("deals", "potentials"),
        (
            ("name", "Name", "string!~deal"),
            ("account_id", "Account", "reference!@Account"),
            ("amount", "Amount", "currency~amount"),
            (
                "sales_stage",
                "Sales Stage",
                "picklist!=Prospecting|Qualification|Needs Analysis|Value Proposition|"
                "Id. Decision Makers|Perception Analysis|Proposal/Price Quote|"
                "Negotiation/Review|Closed Won|Closed Lost",
            ),
            ("probability", "Probability (%)", "percentage~percent"),
            ("date_closed", "Expected Close Date", "date!"),
            ("opportunity_type", "Type", "picklist=New Business|Existing Business"),
            ("lead_source", "Lead Source", OC_LEAD_SOURCE),
            ("next_step", "Next Step", "string~subject"),
            ("campaign_id", "Campaign", "reference@Campaign"),
            ("description", "Description", "text"),
            OC_OWNER,
        ),
    ),
    (
        "Case",
        "Cases",
        "case",
        "cases",
        200,
        "name",
        True,
        (),
        ("tickets", "support tickets", "issues"),
        (
            ("case_number", "Number", "string#~seq:"),
            ("name", "Subject", "string!~problem"),
            ("account_id", "Account", "reference@Account"),
            ("contact_id", "Contact", "reference@Contact"),
            ("status", "Status", "picklist=New|Assigned|Pending Input|Closed|Rejected|Duplicate"),
            ("priority", "Priority", "picklist=P1|P2|P3"),
            ("type", "Type", "picklist=Administration|Product|User|Technical"),
            ("description", "Description", "text"),
            ("resolution", "Resolution", "text"),
            OC_OWNER,
        ),
    ),
    (
        "Task",
        "Tasks",
        "task",
        "tasks",
        150,
        "name",
        True,
        (),
        ("to-dos", "todos"),
        (
            ("name", "Subject", "string!~subject"),
            ("status", "Status", "picklist=Not Started|In Progress|Completed|Pending Input|Deferred"),
            ("priority", "Priority", "picklist=High|Medium|Low"),
            ("date_due", "Due Date", "datetime"),
            ("account_id", "Account", "reference@Account"),
            ("contact_id", "Contact", "reference@Contact"),
            ("description", "Description", "text"),
            OC_OWNER,
        ),
    ),
    (
        "Meeting",
        "Meetings",
        "meeting",
        "meetings",
        100,
        "name",
        True,
        (),
        ("appointments",),
        (
            ("name", "Subject", "string!~subject"),
            ("date_start", "Start", "datetime!"),
            ("duration", "Duration (minutes)", "integer~pick:15|30|45|60|90"),
            ("location", "Location", "string~city"),
            ("status", "Status", "picklist=Planned|Held|Not Held"),
            ("account_id", "Account", "reference@Account"),
            ("description", "Description", "text"),
            OC_OWNER,
        ),
    ),
    (
        "Call",
        "Calls",
        "call",
        "calls",
        120,
        "name",
        True,
        (),
        ("phone calls",),
        (
            ("name", "Subject", "string!~subject"),
            ("direction", "Direction", "picklist=Inbound|Outbound"),
            ("status", "Status", "picklist=Planned|Held|Not Held"),
            ("date_start", "Start", "datetime!"),
            ("duration", "Duration (minutes)", "integer~pick:5|10|15|30|45"),
            ("contact_id", "Contact", "reference@Contact"),
            ("description", "Description", "text"),
            OC_OWNER,
        ),
    ),
    (
        "Campaign",
        "Campaigns",
        "campaign",
        "campaigns",
        30,
        "name",
        True,
        (),
        ("marketing campaigns",),
        (
            ("name", "Name", "string!~campaign"),
            ("campaign_type", "Type", "picklist=Telesales|Mail|Email|Print|Web|Radio|Television|Newsletter"),
            ("status", "Status", "picklist=Planning|Active|Inactive|Complete"),
            ("start_date", "Start Date", "date"),
            ("end_date", "End Date", "date"),
            ("budget", "Budget", "currency~amount"),
            ("expected_cost", "Expected Cost", "currency~amount"),
            ("expected_revenue", "Expected Revenue", "currency~amount"),
            ("objective", "Objective", "text"),
            OC_OWNER,
        ),
    ),
    (
        "ProspectList",
        "Target Lists",
        "target-list",
        "target-lists",
        10,
        "name",
        False,
        (),
        ("prospect lists", "mailing lists"),
        (
            ("name", "Name", "string!~campaign"),
            ("list_type", "Type", "picklist=default|seed|exempt|test"),
            ("entry_count", "Entries", "integer#~qty"),
            ("description", "Description", "text"),
            OC_OWNER,
        ),
    ),
    (
        "Supplier",
        "Suppliers",
        "supplier",
        "suppliers",
        30,
        "name",
        True,
        (),
        ("vendors",),
        (
            ("name", "Name", "string!~company"),
            ("phone_office", "Phone", "phone"),
            ("email1", "Email", "email"),
            ("website", "Website", "url"),
            ("billing_address_city", "City", "string~city"),
            ("billing_address_country", "Country", "string~country"),
            ("payment_terms", "Payment Terms", "picklist=Due on Receipt|Net 15|Net 30|Net 60"),
        ),
    ),
    (
        "Product",
        "Products",
        "product",
        "products",
        50,
        "name",
        True,
        (),
        ("items", "catalog"),
        (
            ("name", "Name", "string!~product"),
            ("product_code", "Product Code", "string~seq:PRD-"),
            ("category", "Category", "picklist=Hardware|Software|Services|Accessories|Subscriptions"),
            ("supplier_id", "Supplier", "reference@Supplier"),
            ("cost", "Cost", "currency~price"),
            ("list_price", "List Price", "currency!~price"),
            ("quantity_in_stock", "In Stock", "integer~qty"),
            ("status", "Status", "picklist=Active|Inactive|Discontinued"),
            ("description", "Description", "text"),
        ),
    ),
    (
        "Quote",
        "Quotes",
        "quote",
        "quotes",
        100,
        "name",
        True,
        (),
        ("quotations", "estimates"),
        (
            ("quote_number", "Quote Number", "string#~seq:Q-"),
            ("name", "Subject", "string!~deal"),
            ("account_id", "Account", "reference!@Account"),
            ("contact_id", "Contact", "reference@Contact"),
            ("opportunity_id", "Opportunity", "reference@Opportunity"),
            (
                "stage",
                "Stage",
                "picklist=Draft|Negotiation|Delivered|On Hold|Confirmed|Closed Accepted|Closed Lost",
            ),
            ("valid_until", "Valid Until", "date"),
            ("amount", "Total", "currency~amount"),
            ("description", "Description", "text"),
            OC_OWNER,
        ),
    ),
    (
        "Invoice",
        "Invoices",
        "invoice",
        "invoices",
        150,
        "name",
        True,
        (),
        ("bills",),
        (
            ("invoice_number", "Invoice Number", "string#~seq:INV-"),
            ("name", "Subject", "string!~deal"),
            ("account_id", "Account", "reference!@Account"),
            ("status", "Status", "picklist=Draft|Sent|Partially Paid|Paid|Overdue|Cancelled"),
            ("invoice_date", "Invoice Date", "date"),
            ("due_date", "Due Date", "date"),
            ("amount", "Total", "currency!~amount"),
            ("amount_due", "Amount Due", "currency~amount"),
            OC_OWNER,
        ),
    ),
    (
        "PurchaseOrder",
        "Purchase Orders",
        "purchase-order",
        "purchase-orders",
        50,
        "name",
        True,
        (),
        ("pos",),
        (
            ("po_number", "PO Number", "string#~seq:PO-"),
            ("name", "Subject", "string!~deal"),
            ("supplier_id", "Supplier", "reference!@Supplier"),
            ("status", "Status", "picklist=Draft|Ordered|Received|Cancelled"),
            ("order_date", "Order Date", "date"),
            ("amount", "Total", "currency~amount"),
            OC_OWNER,
        ),
    ),
    (
        "Document",
        "Documents",
        "document",
        "documents",
        50,
        "document_name",
        True,
        (),
        ("files", "attachments"),
        (
            ("document_name", "Name", "string!~title"),
            (
                "filename",
                "File Name",
                "string~pick:proposal.pdf|contract.docx|pricing.xlsx|brochure.pdf|deck.pptx",
            ),
            ("category", "Category", "picklist=Marketing|Knowledge Base|Sales|Contracts|Technical"),
            ("status", "Status", "picklist=Draft|Active|Expired|Under Review"),
            ("revision", "Revision", "string~pick:1|2|3|1.1|2.0"),
            ("publish_date", "Publish Date", "date"),
            ("description", "Description", "text"),
            OC_OWNER,
        ),
    ),
    (
        "Project",
        "Projects",
        "project",
        "projects",
        25,
        "name",
        True,
        (),
        (),
        (
            ("name", "Name", "string!~deal"),
            ("account_id", "Account", "reference@Account"),
            ("status", "Status", "picklist=Draft|Active|On Hold|Completed|Cancelled"),
            ("date_starting", "Start Date", "date"),
            ("date_ending", "End Date", "date"),
            ("budget", "Budget", "currency~amount"),
            ("description", "Description", "text"),
            OC_OWNER,
        ),
    ),
    (
        "ProjectTask",
        "Project Tasks",
        "project-task",
        "project-tasks",
        100,
        "name",
        False,
        (),
        (),
        (
            ("name", "Name", "string!~subject"),
            ("project_id", "Project", "reference!@Project"),
            ("status", "Status", "picklist=Not Started|In Progress|Completed|Deferred"),
            ("priority", "Priority", "picklist=High|Medium|Low"),
            ("date_start", "Start Date", "date"),
            ("date_due", "Due Date", "date"),
            ("percent_complete", "Percent Complete", "percentage~percent"),
            ("estimated_effort", "Estimated Effort (hours)", "double~qty"),
            OC_OWNER,
        ),
    ),
    (
        "Booking",
        "Time Entries",
        "time-entry",
        "time-entries",
        120,
        "name",
        False,
        (),
        ("timesheets", "hours", "bookings"),
        (
            ("name", "Description", "string!~subject"),
            ("project_id", "Project", "reference@Project"),
            ("project_task_id", "Project Task", "reference@ProjectTask"),
            ("user_id", "User", "reference@User"),
            ("date_start", "Date", "date!"),
            ("quantity", "Hours", "double!~pick:0.5|1|1.5|2|3|4|6|8"),
            ("billable", "Billable", "boolean"),
            ("status", "Status", "picklist=Pending|Approved|Invoiced"),
        ),
    ),
    (
        "ExpenseReport",
        "Expenses",
        "expense",
        "expenses",
        60,
        "name",
        False,
        (),
        ("expense reports", "costs"),
        (
            ("name", "Description", "string!~subject"),
            ("project_id", "Project", "reference@Project"),
            ("user_id", "User", "reference@User"),
            ("amount", "Amount", "currency!~price"),
            ("expense_date", "Date", "date!"),
            ("category", "Category", "picklist=Travel|Meals|Lodging|Supplies|Software|Other"),
            ("status", "Status", "picklist=Draft|Submitted|Approved|Rejected|Reimbursed"),
        ),
    ),
    (
        "Event",
        "Events",
        "event",
        "events",
        20,
        "name",
        False,
        (),
        ("conferences", "webinars"),
        (
            ("name", "Name", "string!~campaign"),
            ("date_start", "Start", "datetime!"),
            ("date_end", "End", "datetime"),
            ("location", "Location", "string~city"),
            ("format", "Format", "picklist=Conference|Webinar|Trade Show|Workshop|Seminar"),
            ("capacity", "Capacity", "integer~qty"),
            ("status", "Status", "picklist=Planned|Open|Full|Completed|Cancelled"),
            OC_OWNER,
        ),
    ),
    (
        "Note",
        "Notes",
        "note",
        "notes",
        100,
        "name",
        True,
        (),
        ("comments",),
        (
            ("name", "Subject", "string!~subject"),
            ("description", "Note", "text"),
            ("account_id", "Account", "reference@Account"),
            ("contact_id", "Contact", "reference@Contact"),
            ("portal_flag", "Show in Portal", "boolean"),
            OC_OWNER,
        ),
    ),
    (
        "ACLRole",
        "Roles",
        "role",
        "roles",
        5,
        "name",
        False,
        (),
        ("permissions",),
        (
            ("name", "Name", "string!~pick:Sales|Support|Marketing|Finance|Read Only"),
            ("description", "Description", "text"),
        ),
    ),
    (
        "SecurityGroup",
        "Teams",
        "team",
        "teams",
        6,
        "name",
        False,
        (),
        ("groups",),
        (
            ("name", "Name", "string!~pick:EMEA Sales|US Sales|APAC Sales|Support|Marketing|Management"),
            ("description", "Description", "text"),
            ("member_count", "Members", "integer#~qty"),
        ),
    ),
    (
        "Workflow",
        "Workflows",
        "workflow",
        "workflows",
        10,
        "name",
        False,
        (),
        ("automations", "rules"),
        (
            ("name", "Name", "string!~subject"),
            ("trigger_module", "Module", f"picklist!={OC_MODULES_PICK}"),
            ("trigger", "Trigger", "picklist=On Create|On Update|On Create or Update|Scheduled"),
            ("status", "Status", "picklist=Active|Inactive"),
            ("description", "Description", "text"),
        ),
    ),
    (
        "Report",
        "Reports",
        "report",
        "reports",
        15,
        "name",
        False,
        (),
        (),
        (
            ("name", "Name", "string!~subject"),
            ("module", "Module", f"picklist!={OC_MODULES_PICK}"),
            ("report_type", "Type", "picklist=Tabular|Summary|Matrix|Chart"),
            ("schedule", "Schedule", "picklist=None|Daily|Weekly|Monthly"),
            ("description", "Description", "text"),
            OC_OWNER,
        ),
    ),
    (
        "Dashboard",
        "Dashboards",
        "dashboard",
        "dashboards",
        6,
        "name",
        False,
        (),
        (),
        (
            ("name", "Name", "string!~pick:Sales Pipeline|Support Overview|Marketing KPIs|Executive|Finance"),
            ("layout_columns", "Columns", "integer~pick:1|2|3"),
            ("is_default", "Default", "boolean"),
            ("description", "Description", "text"),
            OC_OWNER,
        ),
    ),
    (
        "CustomModule",
        "Custom Module Records",
        "custom-module-record",
        "custom-module-records",
        25,
        "name",
        False,
        (),
        ("custom module", "custom records"),
        (
            ("name", "Name", "string!~deal"),
            ("category", "Category", "picklist=A|B|C"),
            ("status", "Status", "picklist=Open|Closed"),
            ("value", "Value", "currency~amount"),
            ("account_id", "Account", "reference@Account"),
            ("description", "Description", "text"),
        ),
    ),
    (
        "Subscription",
        "Subscriptions",
        "subscription",
        "subscriptions",
        60,
        "name",
        False,
        (),
        ("renewals", "recurring"),
        (
            ("name", "Name", "string!~deal"),
            ("account_id", "Account", "reference!@Account"),
            ("product_id", "Product", "reference@Product"),
            ("status", "Status", "picklist=Active|Trial|Cancelled|Expired"),
            ("billing_cycle", "Billing Cycle", "picklist=Monthly|Quarterly|Annually"),
            ("amount", "Amount", "currency~price"),
            ("start_date", "Start Date", "date"),
            ("renewal_date", "Renewal Date", "date"),
        ),
    ),
    (
        "TaxRate",
        "Tax Rates",
        "tax-rate",
        "tax-rates",
        5,
        "name",
        False,
        (),
        ("taxes", "vat"),
        (
            ("name", "Name", "string!~pick:VAT Standard|VAT Reduced|Sales Tax|GST|Exempt"),
            ("rate", "Rate (%)", "percentage!~pick:0|5|7|19|20"),
            ("status", "Status", "picklist=Active|Inactive"),
        ),
    ),
    (
        "Currency",
        "Currencies",
        "currency",
        "currencies",
        5,
        "name",
        False,
        (),
        (),
        (
            ("name", "Name", "string!~pick:US Dollar|Euro|British Pound|Japanese Yen|Swiss Franc"),
            ("iso4217", "ISO Code", "string!~pick:USD|EUR|GBP|JPY|CHF"),
            ("symbol", "Symbol", "string~pick:$|€|£|¥|CHF"),
            ("conversion_rate", "Conversion Rate", "double!~pick:1|0.92|0.79|151.2|0.9"),
            ("status", "Status", "picklist=Active|Inactive"),
        ),
    ),
    (
        "EmailTemplate",
        "Email Templates",
        "email-template",
        "email-templates",
        12,
        "name",
        False,
        (),
        (),
        (
            ("name", "Name", "string!~subject"),
            ("subject", "Subject", "string!~subject"),
            ("body", "Body", "text"),
            ("module", "Module", f"picklist={OC_MODULES_PICK}"),
        ),
    ),
    (
        "SMSTemplate",
        "SMS Templates",
        "sms-template",
        "sms-templates",
        8,
        "name",
        False,
        (),
        ("text templates",),
        (
            ("name", "Name", "string!~subject"),
            ("body", "Body", "text!"),
        ),
    ),
    (
        "PDFTemplate",
        "PDF Templates",
        "pdf-template",
        "pdf-templates",
        8,
        "name",
        False,
        (),
        ("print templates",),
        (
            ("name", "Name", "string!~subject"),
            ("module", "Module", f"picklist!={OC_MODULES_PICK}"),
            ("paper_size", "Paper Size", "picklist=A4|Letter|Legal"),
            ("orientation", "Orientation", "picklist=Portrait|Landscape"),
        ),
    ),
    (
        "Layout",
        "Layouts",
        "layout",
        "layouts",
        0,
        "name",
        False,
        ("list", "get"),
        ("page layouts", "forms"),
        (
            ("name", "Name", "string#"),
            ("module", "Module", "string#"),
            ("view", "View", "picklist#=detail|edit|list"),
            ("fields", "Fields", "multipicklist#"),
        ),
    ),
    (
        "Picklist",
        "Picklists",
        "picklist",
        "picklists",
        0,
        "name",
        False,
        ("list", "get", "update"),
        ("dropdowns", "options"),
        (
            ("name", "Name", "string#"),
            ("module", "Module", "string#"),
            ("field", "Field", "string#"),
            ("options", "Options", "multipicklist"),
        ),
    ),
    (
        "SystemSettings",
        "System Settings",
        "system-settings",
        "system-settings",
        1,
        "company_name",
        False,
        ("get", "update"),
        ("configuration", "admin settings"),
        (
            ("company_name", "Company Name", "string~company"),
            ("default_currency", "Default Currency", "picklist=USD|EUR|GBP|JPY|CHF"),
            ("default_language", "Default Language", "picklist=en_us|en_gb|de_de|fr_fr|es_es"),
            ("date_format", "Date Format", "picklist=Y-m-d|m/d/Y|d.m.Y|d/m/Y"),
            (
                "time_zone",
                "Time Zone",
                "picklist=UTC|America/New_York|Europe/London|Europe/Berlin|Australia/Sydney",
            ),
            ("session_timeout", "Session Timeout (minutes)", "integer~pick:30|60|120"),
            ("outbound_email", "Outbound Email Address", "email"),
        ),
    ),
    (
        "UserSettings",
        "User Settings",
        "user-settings",
        "user-settings",
        1,
        "time_zone",
        False,
        ("get", "update"),
        ("preferences", "my settings"),
        (
            (
                "time_zone",
                "Time Zone",
                "picklist=UTC|America/New_York|Europe/London|Europe/Berlin|Australia/Sydney",
            ),
            ("language", "Language", "picklist=en_us|en_gb|de_de|fr_fr|es_es"),
            ("date_format", "Date Format", "picklist=Y-m-d|m/d/Y|d.m.Y|d/m/Y"),
            ("default_module", "Start Module", f"picklist={OC_MODULES_PICK}"),
            ("notifications_enabled", "Email Notifications", "boolean"),
            ("email_signature", "Email Signature", "text"),
        ),
    ),
]
OC_SINGLETONS = {"SystemSettings": "system", "UserSettings": "current"}
OC_UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


def onecrm_objects() -> list[ObjectDef]:
    objs = []
    for model, label, singular, plural, count, name_field, searchable, ops, syn, rows in OC_OBJECTS:
        stamps = () if model in OC_SINGLETONS else OC_STAMPS
        fields = (
            FieldDef(name="id", label="ID", type="string", readonly=True),
            *(parse_field(r) for r in rows),
            *(parse_field(r) for r in stamps),
        )
        extra: dict[str, Any] = {"model": model}
        if model in OC_SINGLETONS:
            extra["singleton_id"] = OC_SINGLETONS[model]
        objs.append(
            ObjectDef(
                key=model,
                label=label,
                singular=singular,
                plural=plural,
                fields=fields,
                name_field=name_field,
                synonyms=tuple(dict.fromkeys((model.lower(), *syn))),
                seed_count=count,
                searchable=searchable,
                ops=ops or ("list", "get", "create", "update", "delete"),
                extra=extra,
            )
        )
    return objs


def _singleton(action: ActionSpec, obj: ObjectDef) -> ActionSpec:
    """get/update of a settings singleton: no id in the input, the id lives in impl."""
    inp = dict(action.input_schema)
    props = {k: v for k, v in inp["properties"].items() if k != "id"}
    inp = {**inp, "properties": props, "required": [r for r in inp.get("required", []) if r != "id"]}
    noun = obj.label
    desc = (
        f"Gets 1CRM {noun} and returns every setting."
        if action.key.startswith("get-")
        else f"Updates the given 1CRM {noun} (others keep their values) and returns all settings."
    )
    return ActionSpec(
        key=action.key,
        name=action.name,
        description=desc,
        type=action.type,
        input_schema=inp,
        output_schema=action.output_schema,
        impl={**action.impl, "id": obj.extra["singleton_id"]},
    )


def onecrm_actions(objs: list[ObjectDef]) -> list[ActionSpec]:
    idschema = {"type": "string", "pattern": OC_UUID_PATTERN}
    actions: list[ActionSpec] = []
    for obj in objs:
        for verb in (*obj.ops, *(("search",) if obj.searchable else ())):
            a = crud_action("1CRM", obj, verb, idschema)
            if "singleton_id" in obj.extra:
                a = _singleton(a, obj)
            actions.append(a)
    models = [o.key for o in objs if "singleton_id" not in o.extra and o.key not in ("Layout", "Picklist")]
    model_desc = "1CRM model (object) name: " + ", ".join(
        f"{o.key} ({o.label})" for o in objs if o.key in models
    )
    model = {"type": "string", "enum": models, "description": model_desc}
    searchable = [o.key for o in objs if o.searchable]
    hit = {
        "type": "object",
        "properties": {
            "model": {"type": "string", "description": "Model of the matching record."},
            "id": {**idschema, "description": "Record id."},
            "name": {"type": "string", "description": "The record's name."},
            "matched_field": {"type": "string", "description": "Field whose value matched."},
            "snippet": {"type": "string", "description": "The matching value."},
        },
        "required": ["model", "id", "name"],
        "additionalProperties": False,
    }
    generic_record = {
        "type": "object",
        "description": "A 1CRM record: id plus the model's fields.",
        "properties": {"id": {**idschema, "description": "Record id."}},
        "required": ["id"],
        "additionalProperties": True,
    }
    ids = {"type": "array", "items": {**idschema, "description": "Record id."}, "description": "Record ids."}
    filters = {
        "type": "object",
        "additionalProperties": True,
        "description": 'Exact-match filters keyed by field name, e.g. {"status": "Active"}.',
    }
    values = {
        "type": "object",
        "additionalProperties": True,
        "minProperties": 1,
        "description": 'Field values keyed by field name, e.g. {"status": "Closed"}.',
    }
    actions += [
        ActionSpec(
            key="global-search",
            name="Global Search",
            description="Searches all main 1CRM objects (accounts, contacts, leads, opportunities, "
            "cases, ...) at "
            "once for text and returns hits with model, id, name and the matching value.",
            type="connector-operation",
            input_schema={
                "type": "object",
                "properties": {
                    "query": {
                        "type": "string",
                        "minLength": 1,
                        "description": "Text to find (partial, case-insensitive).",
                    },
                    "models": {
                        "type": "array",
                        "items": {"type": "string", "enum": searchable, "description": "Model name."},
                        "description": "Only these models (default: all).",
                    },
                    "limit": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": MAX_PAGE,
                        "default": 20,
                        "description": "Maximum number of hits.",
                    },
                },
                "required": ["query"],
                "additionalProperties": False,
            },
            output_schema={
                "type": "object",
                "properties": {
                    "results": {"type": "array", "items": hit, "description": "Hits, best first."}
                },
                "required": ["results"],
                "additionalProperties": False,
            },
            impl={"op": "global-search"},
        ),
        ActionSpec(
            key="import-records",
            name="Import Records",
            description="Imports (bulk-creates) up to 500 records into one 1CRM model and returns "
            "the new ids and "
            "per-row errors.",
            type="connector-operation",
            input_schema={
                "type": "object",
                "properties": {
                    "model": model,
                    "records": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": 500,
                        "items": {
                            "type": "object",
                            "additionalProperties": True,
                            "description": "Field values of one record.",
                        },
                        "description": "Records to create.",
                    },
                    "skip_duplicates_by": {
                        "type": "string",
                        "description": "Skip rows whose value in this field already exists (e.g. email1).",
                    },
                },
                "required": ["model", "records"],
                "additionalProperties": False,
            },
            output_schema={
                "type": "object",
                "properties": {
                    "created": {"type": "integer", "description": "Number of records created."},
                    "skipped": {"type": "integer", "description": "Rows skipped as duplicates."},
                    "ids": ids,
                    "errors": {
                        "type": "array",
                        "description": "Rows that failed.",
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["row", "message"],
                            "properties": {
                                "row": {"type": "integer", "description": "0-based row index."},
                                "message": {"type": "string", "description": "Why the row failed."},
                            },
                        },
                    },
                },
                "required": ["created", "ids", "errors"],
                "additionalProperties": False,
            },
            impl={"op": "import"},
        ),
        ActionSpec(
            key="export-records",
            name="Export Records",
            description="Exports records of one 1CRM model (optionally filtered, with chosen fields) "
            "as CSV text "
            "or JSON records.",
            type="connector-operation",
            input_schema={
                "type": "object",
                "properties": {
                    "model": model,
                    "format": {
                        "type": "string",
                        "enum": ["csv", "json"],
                        "default": "csv",
                        "description": "Output format.",
                    },
                    "fields": {
                        "type": "array",
                        "items": {"type": "string", "description": "Field name."},
                        "description": "Fields to export (default: all).",
                    },
                    "filters": filters,
                    "max_records": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": 5000,
                        "default": 1000,
                        "description": "Maximum records to export.",
                    },
                },
                "required": ["model"],
                "additionalProperties": False,
            },
            output_schema={
                "type": "object",
                "properties": {
                    "format": {"type": "string", "description": "csv or json."},
                    "count": {"type": "integer", "description": "Records exported."},
                    "csv": {"type": "string", "description": "CSV text with a header row (format=csv)."},
                    "records": {
                        "type": "array",
                        "items": generic_record,
                        "description": "Records (format=json).",
                    },
                },
                "required": ["format", "count"],
                "additionalProperties": False,
            },
            impl={"op": "export"},
        ),
        ActionSpec(
            key="mass-update-records",
            name="Mass Update Records",
            description="Sets the same field values on many records of one 1CRM model, chosen by ids or by "
            "filters, and returns how many were updated.",
            type="connector-operation",
            input_schema={
                "type": "object",
                "properties": {"model": model, "ids": ids, "filters": filters, "values": values},
                "required": ["model", "values"],
                "additionalProperties": False,
            },
            output_schema={
                "type": "object",
                "properties": {"updated": {"type": "integer", "description": "Records updated."}, "ids": ids},
                "required": ["updated", "ids"],
                "additionalProperties": False,
            },
            impl={"op": "mass-update"},
        ),
        ActionSpec(
            key="list-related-records",
            name="List Related Records",
            description="Lists the 1CRM records of one model related to a given record (e.g. the "
            "contacts of an "
            "account, the tasks of a project) through their reference fields.",
            type="list-data-records",
            input_schema={
                "type": "object",
                "properties": {
                    "model": {**model, "description": "Model of the parent record. " + model_desc},
                    "id": {**idschema, "description": "Id of the parent record."},
                    "related_model": {**model, "description": "Model of the related records to list."},
                    **paging_properties(),
                },
                "required": ["model", "id", "related_model"],
                "additionalProperties": False,
            },
            output_schema={
                "type": "object",
                "properties": {
                    "records": {"type": "array", "items": generic_record, "description": "Related records."},
                    "cursor": {"type": "string", "description": "Next-page cursor; absent on the last page."},
                },
                "required": ["records"],
                "additionalProperties": False,
            },
            impl={"op": "related"},
        ),
        *[
            ActionSpec(
                key=f"{verb}-records",
                name=f"{verb.capitalize()} Records",
                description=(
                    "Links a 1CRM record to a parent record by setting its reference field (e.g. a "
                    "contact to an account) and returns the updated record."
                    if verb == "link"
                    else "Unlinks a 1CRM record from its parent by clearing its reference field and returns "
                    "the updated record."
                ),
                type="connector-operation",
                input_schema={
                    "type": "object",
                    "properties": {
                        "model": {**model, "description": "Model of the parent record. " + model_desc},
                        "id": {**idschema, "description": "Id of the parent record."},
                        "related_model": {**model, "description": "Model of the record to " + verb + "."},
                        "related_id": {**idschema, "description": f"Id of the record to {verb}."},
                    },
                    "required": ["model", "id", "related_model", "related_id"],
                    "additionalProperties": False,
                },
                output_schema=generic_record,
                impl={"op": verb},
            )
            for verb in ("link", "unlink")
        ],
    ]
    return actions


def onecrm_catalog() -> Catalog:
    objs = onecrm_objects()
    return Catalog(
        key="1crm",
        name="1CRM",
        description="1CRM is a customer relationship management platform designed to help businesses manage "
        "sales, marketing, and customer service activities.",
        logo_uri="https://static.integration.app/connectors/1crm/logo.png",
        base_url="https://sandbox.1crmcloud.com",
        objects=tuple(objs),
        actions=tuple(onecrm_actions(objs)),
    )


# =========================================================================================
# Bigtincan
# =========================================================================================

BT_TAGS = "multipicklist=onboarding|pricing|product|competitive|case-study|training|q3|enterprise|smb|emea"
BT_STAMPS: tuple[FieldRow, ...] = (
    ("createdAt", "Created At", "datetime#"),
    ("updatedAt", "Updated At", "datetime#"),
)

# (key, label, singular, plural, seed_count, name_field, searchable, id_base, synonyms, fields)
BT_OBJECTS: list[tuple[str, str, str, str, int, str, bool, int, tuple[str, ...], tuple[FieldRow, ...]]] = [
    (
        "group",
        "Groups",
        "group",
        "groups",
        20,
        "name",
        True,
        3000,
        ("teams", "audiences"),
        (
            (
                "name",
                "Name",
                "string!~pick:Sales EMEA|Sales NA|Sales APAC|Marketing|Product|Support|Partners|"
                "Channel|Leadership|New Hires",
            ),
            ("description", "Description", "text"),
            ("type", "Type", "picklist=team|department|region|custom"),
            ("memberCount", "Members", "integer#~qty"),
        ),
    ),
    (
        "user",
        "Users",
        "user",
        "users",
        200,
        "email",
        True,
        5000,
        ("people", "members", "reps"),
        (
            ("firstName", "First Name", "string!"),
            ("lastName", "Last Name", "string!"),
            ("email", "Email", "email!"),
            ("jobTitle", "Job Title", "string~job_title"),
            ("department", "Department", "string~pick:Sales|Marketing|Product|Support|Operations"),
            ("role", "Role", "picklist=administrator|publisher|author|viewer"),
            ("status", "Status", "picklist=active|inactive|invited"),
            ("groupId", "Primary Group", "reference@group"),
            ("lastLoginAt", "Last Login", "datetime"),
        ),
    ),
    (
        "space",
        "Spaces",
        "space",
        "spaces",
        25,
        "name",
        True,
        700,
        ("channels", "channel", "tabs", "folders"),
        (
            (
                "name",
                "Name",
                "string!~pick:Sales Playbooks|Product Launches|Competitive Intel|Case Studies|Pricing|"
                "Onboarding|Partner Hub|Marketing Assets|Training|Customer Stories",
            ),
            ("description", "Description", "text"),
            ("type", "Type", "picklist=shared|personal|group"),
            ("ownerId", "Owner", "reference@user"),
            ("groupId", "Group", "reference@group"),
            ("isPublic", "Public", "boolean"),
            ("color", "Color", "string~pick:#1f77b4|#ff7f0e|#2ca02c|#d62728|#9467bd"),
        ),
    ),
    (
        "story",
        "Stories",
        "story",
        "stories",
        400,
        "title",
        True,
        100000,
        ("posts", "articles", "content items"),
        (
            ("title", "Title", "string!~title"),
            ("description", "Description", "text"),
            ("spaceId", "Space", "reference!@space"),
            ("authorId", "Author", "reference@user"),
            ("status", "Status", "picklist=draft|published|scheduled|archived"),
            ("tags", "Tags", BT_TAGS),
            ("isFeatured", "Featured", "boolean"),
            ("publishedAt", "Published At", "datetime"),
            ("expiresAt", "Expires At", "datetime"),
            ("likesCount", "Likes", "integer#~qty"),
            ("commentsCount", "Comments", "integer#~qty"),
            ("viewsCount", "Views", "integer#~qty"),
        ),
    ),
    (
        "story_content",
        "Story Contents",
        "story-content",
        "story-contents",
        600,
        "name",
        True,
        900000,
        ("files", "file", "attachments", "assets", "content", "story content"),
        (
            ("storyId", "Story", "reference!@story"),
            (
                "name",
                "Name",
                "string!~pick:Pitch Deck.pptx|Pricing Sheet.xlsx|Datasheet.pdf|Demo Video.mp4|"
                "Case Study.pdf|Battlecard.pdf|Product Overview.docx|Webinar Recording.mp4",
            ),
            ("fileType", "File Type", "picklist!=pdf|pptx|docx|xlsx|mp4|png|url|html"),
            ("category", "Category", "picklist=document|presentation|video|image|link|spreadsheet"),
            ("url", "URL", "url"),
            ("sizeBytes", "Size (bytes)", "integer"),
            ("pageCount", "Pages", "integer~qty"),
            ("downloadable", "Downloadable", "boolean"),
        ),
    ),
]


def bigtincan_objects() -> list[ObjectDef]:
    objs = []
    for key, label, singular, plural, count, name_field, searchable, id_base, syn, rows in BT_OBJECTS:
        fields = (
            FieldDef(name="id", label="ID", type="integer", readonly=True),
            *(parse_field(r) for r in rows),
            *(parse_field(r) for r in BT_STAMPS),
        )
        objs.append(
            ObjectDef(
                key=key,
                label=label,
                singular=singular,
                plural=plural,
                fields=fields,
                name_field=name_field,
                synonyms=syn,
                seed_count=count,
                searchable=searchable,
                extra={"id_base": id_base, "path": key.replace("_", "-")},
            )
        )
    return objs


def bigtincan_actions(objs: list[ObjectDef]) -> list[ActionSpec]:
    idschema = {"type": "integer", "minimum": 1}
    actions: list[ActionSpec] = []
    for obj in objs:
        for verb in (*obj.ops, *(("search",) if obj.searchable else ())):
            actions.append(crud_action("Bigtincan", obj, verb, idschema))
    types = [o.key for o in objs]
    actions.append(
        ActionSpec(
            key="search-content",
            name="Search Content",
            description="Searches Bigtincan Hub content (stories, story files, spaces, users, "
            "groups) for text, like the "
            "Hub's global search, and returns hits with type, id, title and a snippet.",
            type="connector-operation",
            input_schema={
                "type": "object",
                "properties": {
                    "query": {
                        "type": "string",
                        "minLength": 1,
                        "description": "Text to search for (partial, case-insensitive).",
                    },
                    "types": {
                        "type": "array",
                        "items": {"type": "string", "enum": types, "description": "Object type."},
                        "description": "Only these types (default: story and story_content).",
                    },
                    "spaceId": {
                        "type": "integer",
                        "description": "Only stories (and their files) in this space.",
                    },
                    "limit": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": MAX_PAGE,
                        "default": 20,
                        "description": "Maximum hits.",
                    },
                    "offset": {"type": "integer", "minimum": 0, "default": 0, "description": "Hits to skip."},
                },
                "required": ["query"],
                "additionalProperties": False,
            },
            output_schema={
                "type": "object",
                "properties": {
                    "total": {"type": "integer", "description": "Total hits."},
                    "results": {
                        "type": "array",
                        "description": "Hits.",
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["type", "id", "title"],
                            "properties": {
                                "type": {"type": "string", "description": "Object type of the hit."},
                                "id": {"type": "integer", "description": "Id of the hit."},
                                "title": {"type": "string", "description": "Title or name."},
                                "snippet": {"type": "string", "description": "The matching text."},
                                "spaceId": {"type": "integer", "description": "Space of a story hit."},
                            },
                        },
                    },
                },
                "required": ["total", "results"],
                "additionalProperties": False,
            },
            impl={"op": "search-content"},
        )
    )
    return actions


def bigtincan_catalog() -> Catalog:
    objs = bigtincan_objects()
    return Catalog(
        key="bigtincan",
        name="Bigtincan",
        description="Bigtincan is a sales enablement platform that helps sales and service teams "
        "access and present "
        "the right content, automate sales processes, and train effectively.",
        logo_uri="https://static.integration.app/connectors/bigtincan/logo.png",
        base_url="https://pubapi.bigtincan.com",
        objects=tuple(objs),
        actions=tuple(bigtincan_actions(objs)),
    )


def write(cat: Catalog, stem: str) -> Path:
    path = OUT / f"{stem}.json"
    path.write_text(json.dumps(catalog_to_json(cat), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    log.info("wrote %s: %d objects, %d actions", path.relative_to(ROOT), len(cat.objects), len(cat.actions))
    return path


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    OUT.mkdir(parents=True, exist_ok=True)
    write(vtiger_catalog(), "vtiger")
    write(onecrm_catalog(), "1crm")
    write(bigtincan_catalog(), "bigtincan")


if __name__ == "__main__":
    main()
