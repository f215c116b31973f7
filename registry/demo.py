"""A realistic demo portfolio, generated from a seed and a date.

Everything is drawn from `random.Random(seed)` and dated relative to `today`, never from the
clock, so the same seed and date give the same portfolio. The portfolio holds what the scans
look for: long pilots, near-duplicate use cases in different units, owners who left,
ownership nobody confirmed, production use cases whose KPIs nobody records, use cases
without a technical owner and shared mailboxes as owners.

Use cases are generated and written a chunk at a time, so memory stays bounded, and written
set-based (COPY on PostgreSQL, bulk_create elsewhere), so a hundred thousand use cases take
well under a minute. Every row gets a creation record in its history, dated when it
entered the registry, holding its values as seeded; people who left get a second record on
the day they left.
"""

from __future__ import annotations

import datetime
import graphlib
import itertools
import math
import random
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from .models import (
    KPI,
    BusinessUnit,
    Decision,
    DecisionMethod,
    FrictionPoint,
    Frequency,
    KPIDirection,
    KPIObservation,
    Person,
    Readiness,
    Stage,
    StageTransition,
    TransitionSource,
    UseCase,
)
from core import bulk
from .access import AUDITOR, BUSINESS_OWNER, PROGRAM_OFFICE

DEMO_PASSWORD = "lastmile-demo"
DEMO_DOMAIN = "meridian.example"
HISTORY_REASON = "demo data"
HISTORY_DAYS = 730
CHUNK_SIZE = 5000

# Catalogue ----------------------------------------------------------------------------------

# Short names keep the catalogue below readable.
H, L = KPIDirection.HIGHER_IS_BETTER, KPIDirection.LOWER_IS_BETTER
F = Frequency
M = DecisionMethod


@dataclass(frozen=True)
class KPITemplate:
    name: str
    unit: str
    direction: str
    baseline: tuple[float, float]
    improvement: tuple[float, float]  # the target's relative move from the baseline
    decimals: int = 1


@dataclass(frozen=True)
class UseCaseTemplate:
    title: str
    summary: str
    capability: str


@dataclass(frozen=True)
class DecisionTemplate:
    key: str
    statement: str
    frequency: str
    decisions_per_period: tuple[int, int]
    cost_of_error: tuple[float, float]
    cost_of_delay_per_day: tuple[float, float]
    execution_point: str
    current_method: str
    kpis: tuple[KPITemplate, ...]
    use_cases: tuple[UseCaseTemplate, ...]


@dataclass(frozen=True)
class UnitTemplate:
    code: str
    name: str
    weight: float  # relative size: share of people and of use cases
    decisions: tuple[DecisionTemplate, ...]

    def decision(self, key: str) -> DecisionTemplate:
        return next(d for d in self.decisions if d.key == key)


def _uc(title, summary, capability):
    return UseCaseTemplate(title, summary, capability)


UNITS = (
    UnitTemplate("FIN", "Finance", 1.0, (
        DecisionTemplate(
            "early_payment", "Which supplier invoices do we pay early to capture the discount this week?",
            F.WEEKLY, (200, 900), (80, 400), (300, 1500), "SAP payment run proposal", M.RULES,
            (KPITemplate("Early payment discount captured", "EUR thousand per month", H, (20, 60), (0.2, 0.6)),
             KPITemplate("Discount capture rate", "%", H, (25, 45), (0.2, 0.5))),
            (_uc("Early payment discount optimiser",
                 "Ranks open supplier invoices by the value of paying them early against the cost of cash.",
                 "prescriptive optimisation"),
             _uc("Supplier cash-need scoring",
                 "Scores which suppliers would accept a deeper discount for faster payment, from payment history and "
                 "credit data.",
                 "tabular prediction")),
        ),
        DecisionTemplate(
            "collections", "Which overdue customer accounts does the collections team call first today?",
            F.DAILY, (150, 600), (50, 300), (500, 3000), "Collections worklist in the ERP", M.JUDGEMENT,
            (KPITemplate("Days sales outstanding", "days", L, (45, 70), (0.1, 0.25)),
             KPITemplate("Receivables overdue by more than 60 days", "%", L, (8, 18), (0.15, 0.4))),
            (_uc("Payment delay prediction",
                 "Predicts which open invoices will be paid late, and by how many days, from each customer's payment behaviour.",
                 "tabular prediction"),
             _uc("Collections call prioritisation",
                 "Orders the daily collections worklist by expected cash recovered per call.",
                 "ranking")),
        ),
        DecisionTemplate(
            "invoice_approval", "Which supplier invoices are approved for payment without manual review today?",
            F.DAILY, (800, 3000), (40, 250), (200, 900), "Accounts payable workflow (Basware)", M.RULES,
            (KPITemplate("Invoice processing cost", "EUR per invoice", L, (6, 12), (0.2, 0.45), 2),
             KPITemplate("Touchless invoice rate", "%", H, (20, 45), (0.3, 0.8))),
            (_uc("Invoice anomaly screening",
                 "Flags supplier invoices whose amounts, bank details or line items deviate from the supplier's history.",
                 "anomaly detection"),),
        ),
        DecisionTemplate(
            "ap_mailbox", "Which supplier e-mails in the accounts payable mailbox are handled first today?",
            F.DAILY, (300, 1500), (5, 50), (200, 800), "Shared accounts payable mailbox in Outlook", M.JUDGEMENT,
            (KPITemplate("Supplier query response time", "hours", L, (20, 60), (0.3, 0.6)),
             KPITemplate("Accounts payable mailbox backlog", "e-mails", L, (300, 1200), (0.4, 0.7), 0)),
            (_uc("Supplier statement reconciliation",
                 "Matches supplier account statements against the ledger and lists the differences for the clerk.",
                 "record matching"),),
        ),
        DecisionTemplate(
            "cash_positioning", "How much cash do we keep on each entity's account next week?",
            F.WEEKLY, (20, 80), (2000, 15000), (800, 4000), "Treasury management system", M.JUDGEMENT,
            (KPITemplate("Idle cash balance", "EUR million", L, (40, 120), (0.15, 0.35)),
             KPITemplate("Short-term borrowing cost", "EUR thousand per month", L, (80, 250), (0.1, 0.3))),
            (_uc("13-week cash flow forecast",
                 "Forecasts receipts and payments per entity for the next 13 weeks from ledger, order book and payroll data.",
                 "time series forecasting"),
             _uc("Intercompany cash pooling recommendation",
                 "Proposes the weekly sweeps between entities that keep every account funded at the lowest cost.",
                 "prescriptive optimisation")),
        ),
        DecisionTemplate(
            "expense_audit", "Which employee expense claims are sent for audit this month?",
            F.MONTHLY, (3000, 12000), (20, 150), (50, 300), "Expense tool (Concur) audit queue", M.RULES,
            (KPITemplate("Non-compliant spend recovered", "EUR thousand per month", H, (5, 25), (0.4, 1.0)),),
            (_uc("Expense claim anomaly detection",
                 "Scores each expense claim for policy breaches and unusual patterns so that auditors review the riskiest first.",
                 "anomaly detection"),
             _uc("Receipt-to-claim matching",
                 "Reads receipt images and checks them against the amounts, dates and merchants claimed.",
                 "document data extraction")),
        ),
        DecisionTemplate(
            "close_accruals", "Which accruals are booked at month-end close without manual review?",
            F.MONTHLY, (400, 1500), (200, 2000), (1000, 5000), "Month-end close checklist (BlackLine)", M.JUDGEMENT,
            (KPITemplate("Days to close", "days", L, (6, 10), (0.2, 0.4)),),
            (_uc("Accrual estimation model",
                 "Estimates month-end accruals for goods received but not invoiced from purchase order and delivery history.",
                 "tabular prediction"),),
        ),
        DecisionTemplate(
            "credit_limit", "What credit limit do we grant each new business customer?",
            F.DAILY, (30, 150), (500, 8000), (300, 1500), "Order-to-cash credit check in SAP", M.RULES,
            (KPITemplate("Bad debt write-offs", "EUR thousand per quarter", L, (150, 600), (0.15, 0.35)),
             KPITemplate("Order approval time", "hours", L, (12, 48), (0.3, 0.7))),
            (_uc("B2B credit risk scoring",
                 "Scores new business customers from bureau data, filings and payment behaviour to propose a credit limit.",
                 "tabular prediction"),),
        ),
    )),
    UnitTemplate("PRC", "Procurement", 0.7, (
        DecisionTemplate(
            "po_matching", "Which incoming invoices are matched to a purchase order and released automatically?",
            F.DAILY, (500, 2500), (30, 200), (150, 800), "Procure-to-pay suite (Coupa) matching queue", M.RULES,
            (KPITemplate("First-pass match rate", "%", H, (55, 75), (0.1, 0.3)),
             KPITemplate("Invoice cycle time", "days", L, (8, 20), (0.25, 0.5))),
            (_uc("Purchase order line matching",
                 "Pairs invoice lines with purchase order and goods receipt lines when descriptions and quantities differ.",
                 "record matching"),),
        ),
        DecisionTemplate(
            "supplier_risk", "Which suppliers are put on the watch list this quarter?",
            F.QUARTERLY, (300, 2000), (2000, 50000), (500, 3000), "Supplier risk dashboard reviewed by category managers",
            M.JUDGEMENT,
            (KPITemplate("Spend with high-risk suppliers", "%", L, (6, 15), (0.2, 0.5)),
             KPITemplate("Supply disruptions", "per quarter", L, (10, 30), (0.2, 0.4), 0)),
            (_uc("Supplier financial distress early warning",
                 "Combines filings, payment behaviour and market signals to warn of suppliers at risk of failing.",
                 "tabular prediction"),
             _uc("Adverse media screening of suppliers",
                 "Reads news and sanctions feeds and links relevant stories to the suppliers they concern.",
                 "entity linking")),
        ),
        DecisionTemplate(
            "sourcing_channel", "Which purchase requests go to a tender and which to a catalogue buy?",
            F.DAILY, (100, 500), (100, 1500), (200, 900), "Purchase requisition approval workflow", M.RULES,
            (KPITemplate("Maverick spend", "%", L, (12, 25), (0.2, 0.4)),
             KPITemplate("Savings realised", "EUR thousand per quarter", H, (200, 800), (0.1, 0.3))),
            (_uc("Requisition categorisation",
                 "Assigns free-text purchase requests to the right spend category and buying channel.",
                 "text classification"),),
        ),
        DecisionTemplate(
            "negotiation_target", "What price target do we set for each contract renewal negotiation?",
            F.MONTHLY, (20, 120), (5000, 60000), (1000, 6000), "Category manager negotiation plan", M.JUDGEMENT,
            (KPITemplate("Savings versus last contract", "%", H, (2, 5), (0.3, 0.8)),),
            (_uc("Should-cost model",
                 "Estimates what a component should cost from materials, labour and energy indices.",
                 "tabular prediction"),
             _uc("Price benchmark recommender",
                 "Finds comparable purchases across the group to benchmark the renewal price.",
                 "similarity search")),
        ),
        DecisionTemplate(
            "contract_review", "Which supplier contracts need a legal review before signature?",
            F.WEEKLY, (40, 200), (3000, 40000), (500, 2500), "Contract lifecycle management (Icertis) intake", M.JUDGEMENT,
            (KPITemplate("Contracts signed within SLA", "%", H, (45, 65), (0.15, 0.35)),
             KPITemplate("Legal review hours per contract", "hours", L, (3, 8), (0.2, 0.5))),
            (_uc("Supplier onboarding document check",
                 "Checks that certificates, insurance and bank letters supplied at onboarding are complete and valid.",
                 "document classification"),),
        ),
    )),
    UnitTemplate("CUS", "Customer Service", 1.3, (
        DecisionTemplate(
            "email_routing", "Which queue does each incoming customer e-mail go to?",
            F.HOURLY, (300, 1200), (5, 30), (2000, 8000), "Contact centre platform (Genesys) routing rules", M.RULES,
            (KPITemplate("Average handling time", "minutes", L, (7, 12), (0.1, 0.25)),
             KPITemplate("Misrouted contacts", "%", L, (10, 25), (0.3, 0.6))),
            (_uc("Reply suggestion for agents",
                 "Drafts a reply to each customer e-mail from the knowledge base for the agent to edit and send.",
                 "text generation"),),
        ),
        DecisionTemplate(
            "self_service", "Which customer questions are answered by self-service without an agent?",
            F.HOURLY, (200, 900), (3, 20), (1500, 6000), "Web and app chat widget", M.RULES,
            (KPITemplate("Self-service containment rate", "%", H, (15, 35), (0.3, 0.8)),
             KPITemplate("Cost per contact", "EUR", L, (4, 9), (0.1, 0.3), 2)),
            (_uc("Knowledge article gap finder",
                 "Clusters unanswered chat questions to show which help articles are missing or outdated.",
                 "text clustering"),),
        ),
        DecisionTemplate(
            "callback_priority", "Which customers in the callback queue are called back first?",
            F.HOURLY, (50, 300), (10, 80), (400, 2000), "Callback queue in the contact centre", M.RULES,
            (KPITemplate("First-contact resolution", "%", H, (60, 75), (0.05, 0.15)),
             KPITemplate("Complaints", "per 1,000 customers", L, (4, 9), (0.15, 0.35))),
            (_uc("Callback priority scoring",
                 "Ranks waiting callbacks by churn risk, customer value and how long they have waited.",
                 "ranking"),
             _uc("Customer sentiment detection on calls",
                 "Detects frustration in call transcripts so that unhappy customers are called back first.",
                 "sentiment analysis")),
        ),
        DecisionTemplate(
            "goodwill", "Which complaining customers receive a goodwill credit, and how much?",
            F.DAILY, (100, 500), (20, 200), (300, 1500), "CRM case management (Salesforce Service Cloud)", M.JUDGEMENT,
            (KPITemplate("Goodwill credits issued", "EUR thousand per month", L, (40, 150), (0.1, 0.3)),
             KPITemplate("Satisfied customers after a complaint", "%", H, (55, 70), (0.05, 0.15))),
            (_uc("Goodwill credit recommender",
                 "Suggests whether to grant a goodwill credit, and its amount, from the complaint, the customer's value "
                 "and past outcomes.",
                 "recommendation"),),
        ),
        DecisionTemplate(
            "staffing", "How many agents do we roster per half hour next week?",
            F.WEEKLY, (300, 700), (100, 800), (1000, 4000), "Workforce management tool (NICE)", M.MODEL,
            (KPITemplate("Calls answered within 20 seconds", "%", H, (70, 82), (0.05, 0.12)),
             KPITemplate("Agent overtime", "hours per week", L, (300, 900), (0.2, 0.4), 0)),
            (_uc("Contact volume forecast",
                 "Forecasts calls, chats and e-mails per half hour from history, campaigns, outages and billing cycles.",
                 "time series forecasting"),),
        ),
        DecisionTemplate(
            "quality_review", "Which calls are pulled for quality review this week?",
            F.WEEKLY, (500, 2000), (10, 60), (100, 500), "Quality management module of the contact centre", M.RULES,
            (KPITemplate("Repeat contacts within 7 days", "%", L, (12, 22), (0.15, 0.3)),),
            (_uc("Call transcript quality scoring",
                 "Scores every call transcript against the quality checklist so reviewers listen to the calls that matter.",
                 "text classification"),),
        ),
    )),
    UnitTemplate("MKT", "Marketing", 1.2, (
        DecisionTemplate(
            "retention_offer", "Which at-risk subscribers get a retention offer this week?",
            F.WEEKLY, (5000, 40000), (15, 90), (2000, 12000), "Campaign manager (Adobe Campaign)", M.RULES,
            (KPITemplate("Monthly churn rate", "%", L, (1.8, 3.5), (0.1, 0.25), 2),
             KPITemplate("Retention cost per saved customer", "EUR", L, (40, 90), (0.15, 0.3))),
            (_uc("Churn propensity model",
                 "Scores every subscriber weekly for the risk of cancelling within 60 days from usage, billing and "
                 "contact history.",
                 "tabular prediction"),
             _uc("Retention offer next-best-action",
                 "Chooses, per at-risk subscriber, the offer most likely to keep them at the lowest cost.",
                 "recommendation"),
             _uc("Uplift model for retention offers",
                 "Estimates who stays because of the offer, not who would have stayed anyway, to stop wasting offers.",
                 "causal uplift modelling")),
        ),
        DecisionTemplate(
            "cross_sell_audience", "Which customers receive the monthly cross-sell campaign?",
            F.MONTHLY, (50000, 300000), (1, 8), (1000, 5000), "Marketing automation (Salesforce Marketing Cloud)", M.RULES,
            (KPITemplate("Campaign conversion rate", "%", H, (1, 3), (0.2, 0.5), 2),
             KPITemplate("Unsubscribe rate", "%", L, (0.3, 0.9), (0.2, 0.4), 2)),
            (_uc("Cross-sell propensity scoring",
                 "Predicts which customers are likely to buy a second product in the next month.",
                 "tabular prediction"),
             _uc("Audience lookalike modelling",
                 "Finds customers who resemble recent buyers of the campaign's product.",
                 "similarity search")),
        ),
        DecisionTemplate(
            "media_budget", "How do we split next month's paid media budget across channels?",
            F.MONTHLY, (10, 40), (5000, 40000), (2000, 8000), "Media plan agreed with the agency", M.JUDGEMENT,
            (KPITemplate("Customer acquisition cost", "EUR", L, (60, 140), (0.1, 0.25)),
             KPITemplate("Return on ad spend", "ratio", H, (2, 4), (0.1, 0.3), 2)),
            (_uc("Marketing mix model",
                 "Estimates the sales contribution of each media channel from two years of spend and sales data.",
                 "econometric modelling"),
             _uc("Multi-touch attribution",
                 "Attributes online conversions to the touchpoints that led to them.",
                 "attribution modelling")),
        ),
        DecisionTemplate(
            "promotions", "Which products go on promotion in next week's flyer?",
            F.WEEKLY, (80, 300), (500, 5000), (1000, 6000), "Promotion calendar in the merchandising system", M.JUDGEMENT,
            (KPITemplate("Promotional margin", "EUR thousand per week", H, (150, 500), (0.05, 0.15)),),
            (_uc("Promotion uplift forecast",
                 "Forecasts the extra units a promotion sells, net of cannibalisation and post-promotion dip.",
                 "time series forecasting"),),
        ),
        DecisionTemplate(
            "web_personalisation", "Which offer does each visitor see in the home page banner?",
            F.HOURLY, (5000, 20000), (0.5, 3), (500, 3000), "Web personalisation engine (Optimizely)", M.RULES,
            (KPITemplate("Online conversion rate", "%", H, (2, 4), (0.05, 0.2), 2),),
            (_uc("Home page offer personalisation",
                 "Picks the banner offer for each visitor from browsing and purchase history.",
                 "recommendation"),
             _uc("Product recommendation carousel",
                 "Shows each visitor the products they are most likely to buy next.",
                 "recommendation")),
        ),
    )),
    UnitTemplate("SAL", "Sales", 1.0, (
        DecisionTemplate(
            "lead_priority", "Which inbound leads does each sales rep call first today?",
            F.DAILY, (200, 1000), (30, 300), (1000, 5000), "CRM lead queue (Salesforce Sales Cloud)", M.JUDGEMENT,
            (KPITemplate("Lead-to-opportunity conversion", "%", H, (8, 15), (0.15, 0.4)),
             KPITemplate("Time to first contact", "hours", L, (12, 40), (0.3, 0.6))),
            (_uc("Lead scoring model",
                 "Scores inbound leads for their chance of becoming an opportunity from firmographics and web behaviour.",
                 "tabular prediction"),
             _uc("Lead enrichment and routing",
                 "Completes lead records from public company data and routes each lead to the right rep.",
                 "entity linking")),
        ),
        DecisionTemplate(
            "quote_discount", "What discount does a rep offer on each business quote?",
            F.DAILY, (100, 400), (200, 3000), (500, 3000), "CPQ quote approval (Salesforce CPQ)", M.RULES,
            (KPITemplate("Average discount granted", "%", L, (12, 20), (0.1, 0.25)),
             KPITemplate("Win rate", "%", H, (20, 30), (0.05, 0.15))),
            (_uc("Deal price guidance",
                 "Recommends a target and a floor price for each quote from similar won and lost deals.",
                 "tabular prediction"),
             _uc("Win probability estimation",
                 "Estimates each open quote's chance of winning at the proposed price.",
                 "tabular prediction")),
        ),
        DecisionTemplate(
            "account_commitment", "How many units per SKU do we commit to key accounts next quarter?",
            F.QUARTERLY, (2000, 8000), (100, 1000), (2000, 10000), "Sales and operations planning meeting", M.JUDGEMENT,
            (KPITemplate("Order fill rate at key accounts", "%", H, (88, 95), (0.02, 0.05)),),
            (_uc("Key account order pattern analysis",
                 "Shows how each key account's ordering shifts with its own promotions and season.",
                 "descriptive analytics"),),
        ),
        DecisionTemplate(
            "territories", "Which accounts are assigned to which sales territory next fiscal year?",
            F.YEARLY, (3000, 15000), (500, 5000), (2000, 9000), "Territory plan in the CRM", M.JUDGEMENT,
            (KPITemplate("Revenue per rep", "EUR thousand per quarter", H, (300, 700), (0.05, 0.15), 0),),
            (_uc("Account potential estimation",
                 "Estimates each account's spend potential from firmographics and wallet-share data.",
                 "tabular prediction"),
             _uc("Territory balancing optimiser",
                 "Proposes territories with balanced potential and travel time per rep.",
                 "prescriptive optimisation")),
        ),
        DecisionTemplate(
            "renewal_risk", "Which key accounts get an executive visit before renewal this quarter?",
            F.QUARTERLY, (100, 500), (5000, 80000), (2000, 15000), "Key account review meeting", M.JUDGEMENT,
            (KPITemplate("Gross revenue retention", "%", H, (85, 93), (0.02, 0.05)),),
            (_uc("Account health score",
                 "Combines usage, support tickets and payment behaviour into a health score per key account.",
                 "tabular prediction"),),
        ),
    )),
    UnitTemplate("SCM", "Supply Chain", 1.3, (
        DecisionTemplate(
            "safety_stock", "How much safety stock do we hold per SKU next month?",
            F.MONTHLY, (5000, 40000), (20, 300), (3000, 15000), "Inventory planning in SAP IBP", M.RULES,
            (KPITemplate("Inventory days of supply", "days", L, (40, 70), (0.1, 0.25)),
             KPITemplate("Stock-out rate", "%", L, (3, 8), (0.2, 0.45), 2)),
            (_uc("Dynamic safety stock optimiser",
                 "Sets safety stock per SKU and warehouse from forecast error and supplier lead-time variability.",
                 "prescriptive optimisation"),
             _uc("Lead-time variability model",
                 "Predicts each supplier's delivery lead time distribution from purchase order history.",
                 "tabular prediction")),
        ),
        DecisionTemplate(
            "replenishment", "How many units of each SKU does each warehouse order this week?",
            F.WEEKLY, (20000, 90000), (5, 60), (4000, 20000), "Replenishment run in the warehouse management system", M.MODEL,
            (KPITemplate("Order fill rate", "%", H, (90, 96), (0.01, 0.04)),
             KPITemplate("Excess and obsolete stock", "EUR million", L, (4, 15), (0.15, 0.35), 2)),
            (_uc("Promotion-aware replenishment",
                 "Adjusts replenishment orders for planned promotions and their after-effects.",
                 "prescriptive optimisation"),),
        ),
        DecisionTemplate(
            "carrier_selection", "Which carrier takes each outbound shipment tomorrow?",
            F.DAILY, (800, 4000), (20, 200), (1000, 6000), "Transport management system (Oracle OTM)", M.RULES,
            (KPITemplate("Freight cost per pallet", "EUR", L, (40, 70), (0.05, 0.15), 2),
             KPITemplate("On-time delivery", "%", H, (88, 95), (0.02, 0.05))),
            (_uc("Carrier on-time prediction",
                 "Predicts each carrier's chance of delivering on time per lane and day.",
                 "tabular prediction"),
             _uc("Freight cost optimiser",
                 "Assigns shipments to carriers at the lowest cost that still meets delivery promises.",
                 "prescriptive optimisation")),
        ),
        DecisionTemplate(
            "maintenance", "Which production lines get preventive maintenance in next week's schedule?",
            F.WEEKLY, (40, 150), (2000, 30000), (3000, 20000), "Maintenance planning in SAP PM", M.RULES,
            (KPITemplate("Unplanned downtime", "hours per month", L, (30, 90), (0.2, 0.4)),
             KPITemplate("Maintenance cost per line", "EUR thousand per month", L, (15, 40), (0.05, 0.15))),
            (_uc("Predictive maintenance from sensor data",
                 "Predicts failures of pumps, motors and conveyors from vibration and temperature sensors.",
                 "time series anomaly detection"),
             _uc("Spare parts demand forecast",
                 "Forecasts spare part consumption per plant so that the parts are there when maintenance is due.",
                 "time series forecasting")),
        ),
        DecisionTemplate(
            "inbound_inspection", "Which incoming batches are inspected before release to production?",
            F.DAILY, (100, 600), (300, 8000), (1000, 5000), "Quality inspection lots in SAP QM", M.RULES,
            (KPITemplate("Defect escape rate", "ppm", L, (200, 900), (0.2, 0.5), 0),
             KPITemplate("Inspection hours", "hours per week", L, (150, 400), (0.15, 0.35), 0)),
            (_uc("Visual defect detection on the line",
                 "Finds surface defects in camera images of incoming parts.",
                 "computer vision"),
             _uc("Supplier batch risk scoring",
                 "Scores each incoming batch for defect risk from supplier, material and past inspection results.",
                 "tabular prediction")),
        ),
        DecisionTemplate(
            "slotting", "Where in the warehouse is each fast-moving item stored next month?",
            F.MONTHLY, (2000, 10000), (5, 40), (500, 3000), "Warehouse management system slotting plan", M.JUDGEMENT,
            (KPITemplate("Picks per hour", "picks", H, (90, 140), (0.08, 0.2), 0),),
            (_uc("Warehouse slotting optimiser",
                 "Places items so that the most-picked ones sit closest to the dispatch area.",
                 "prescriptive optimisation"),),
        ),
    )),
    UnitTemplate("HR", "Human Resources", 0.7, (
        DecisionTemplate(
            "hr_questions", "Which employee HR questions are answered without a ticket to HR operations?",
            F.DAILY, (300, 1500), (5, 40), (300, 1500), "HR service portal (ServiceNow HRSD)", M.RULES,
            (KPITemplate("HR tickets", "per 100 employees per month", L, (8, 15), (0.2, 0.4)),
             KPITemplate("Time to answer HR questions", "hours", L, (24, 72), (0.3, 0.6))),
            (_uc("HR ticket categorisation",
                 "Sorts incoming HR tickets by topic and urgency and assigns them to the right HR team.",
                 "text classification"),),
        ),
        DecisionTemplate(
            "interview_invites", "Which applicants are invited to a first interview this week?",
            F.WEEKLY, (300, 2000), (100, 1500), (500, 3000), "Applicant tracking system (Workday Recruiting)", M.JUDGEMENT,
            (KPITemplate("Time to hire", "days", L, (35, 60), (0.15, 0.3)),
             KPITemplate("Cost per hire", "EUR", L, (3000, 6000), (0.1, 0.25), 0)),
            (_uc("CV screening assistant",
                 "Summarises each application against the role's must-have criteria for the recruiter.",
                 "text summarisation"),
             _uc("Skills-based candidate matching",
                 "Matches applicants and internal candidates to open roles by skills rather than job titles.",
                 "similarity search")),
        ),
        DecisionTemplate(
            "retention_talks", "Which high performers get a retention conversation this quarter?",
            F.QUARTERLY, (200, 1000), (2000, 20000), (1000, 5000), "Quarterly talent review", M.JUDGEMENT,
            (KPITemplate("Regretted attrition", "%", L, (6, 12), (0.15, 0.3)),),
            (_uc("Employee attrition risk model",
                 "Estimates each employee's risk of resigning within six months from tenure, pay, mobility and engagement data.",
                 "tabular prediction"),),
        ),
        DecisionTemplate(
            "learning", "Which training does each employee get recommended next?",
            F.MONTHLY, (5000, 30000), (5, 30), (200, 800), "Learning platform (Cornerstone)", M.RULES,
            (KPITemplate("Training completion rate", "%", H, (40, 60), (0.1, 0.3)),),
            (_uc("Learning path recommender",
                 "Recommends the next course to each employee from their role, skills and career goals.",
                 "recommendation"),
             _uc("Skills gap inference from job history",
                 "Infers missing skills per team from job histories and planned roles.",
                 "information extraction")),
        ),
        DecisionTemplate(
            "temporary_staff", "How many temporary workers do we book per site for next month's peak?",
            F.MONTHLY, (20, 100), (1000, 10000), (1000, 6000), "Workforce planning spreadsheet shared with staffing agencies",
            M.JUDGEMENT,
            (KPITemplate("Temporary labour cost", "EUR thousand per month", L, (300, 900), (0.05, 0.15), 0),
             KPITemplate("Overtime share of hours worked", "%", L, (6, 12), (0.2, 0.4))),
            (_uc("Labour demand forecast per site",
                 "Forecasts the hours of work per site and shift from order volumes and seasonality.",
                 "time series forecasting"),),
        ),
    )),
    UnitTemplate("RSK", "Risk & Compliance", 0.8, (
        DecisionTemplate(
            "order_fraud", "Which online orders are held for a payment fraud check before shipping?",
            F.HOURLY, (500, 4000), (50, 800), (3000, 20000), "Order management system fraud hold", M.RULES,
            (KPITemplate("Chargeback losses", "EUR thousand per month", L, (80, 300), (0.2, 0.45)),
             KPITemplate("Good orders held for review", "%", L, (2, 6), (0.3, 0.6), 2)),
            (_uc("Real-time order fraud scoring",
                 "Scores every online order for payment fraud before it is released to the warehouse.",
                 "tabular prediction"),
             _uc("Fraud ring graph analytics",
                 "Links orders through shared devices, addresses and cards to expose organised fraud rings.",
                 "graph analytics")),
        ),
        DecisionTemplate(
            "instalment_credit", "Which buy-now-pay-later applications are approved at checkout?",
            F.HOURLY, (200, 1200), (100, 1500), (2000, 10000), "Checkout credit decision service", M.MODEL,
            (KPITemplate("Credit losses", "% of financed volume", L, (1.5, 3.5), (0.1, 0.25), 2),
             KPITemplate("Approval rate", "%", H, (60, 75), (0.03, 0.1))),
            (_uc("Consumer credit scoring with open banking data",
                 "Adds account transaction data, with the customer's consent, to the checkout credit score.",
                 "tabular prediction"),),
        ),
        DecisionTemplate(
            "kyc_refresh", "Which customer files are refreshed for know-your-customer checks first this month?",
            F.MONTHLY, (2000, 10000), (100, 5000), (1000, 5000), "KYC workflow in the onboarding platform", M.RULES,
            (KPITemplate("Overdue KYC reviews", "files", L, (800, 3000), (0.3, 0.6), 0),),
            (_uc("KYC document data extraction",
                 "Reads identity documents and company registry extracts into the customer file.",
                 "document data extraction"),
             _uc("Customer risk rating model",
                 "Rates each business customer's money-laundering risk to set how often its file is reviewed.",
                 "tabular prediction")),
        ),
        DecisionTemplate(
            "regulatory_change", "Which regulatory updates need a policy change, and who owns it?",
            F.WEEKLY, (20, 100), (5000, 100000), (1000, 8000), "Compliance obligations register", M.JUDGEMENT,
            (KPITemplate("Days from publication to policy owner assigned", "days", L, (20, 45), (0.3, 0.6)),),
            (_uc("Regulatory change summarisation",
                 "Summarises new regulations and consultation papers and lists the obligations they create.",
                 "text summarisation"),
             _uc("Obligation-to-policy mapping",
                 "Links each new obligation to the internal policies and controls it affects.",
                 "similarity search")),
        ),
        DecisionTemplate(
            "access_review", "Which employee access rights are revoked in this quarter's access review?",
            F.QUARTERLY, (5000, 30000), (100, 10000), (500, 3000), "Identity governance tool (SailPoint) certification campaign",
            M.JUDGEMENT,
            (KPITemplate("Excess access rights open after review", "rights", L, (400, 1500), (0.3, 0.6), 0),),
            (_uc("Access anomaly detection for certification",
                 "Flags access rights that no peer in the same role holds, so managers review those first.",
                 "anomaly detection"),),
        ),
    )),
    UnitTemplate("ITO", "IT Operations", 1.2, (
        DecisionTemplate(
            "it_self_service", "Which IT support requests are resolved by self-service without a ticket?",
            F.DAILY, (400, 2000), (5, 40), (300, 1500), "IT service portal (ServiceNow)", M.RULES,
            (KPITemplate("IT tickets per employee per month", "tickets", L, (0.6, 1.2), (0.15, 0.35), 2),
             KPITemplate("Mean time to resolve", "hours", L, (10, 30), (0.2, 0.4))),
            (_uc("Password reset automation",
                 "Verifies the employee's identity and resets passwords and MFA devices without an agent.",
                 "workflow automation"),),
        ),
        DecisionTemplate(
            "incident_assignment", "Which team gets each new incident ticket assigned?",
            F.HOURLY, (20, 120), (20, 300), (2000, 8000), "ServiceNow incident assignment rules", M.RULES,
            (KPITemplate("Ticket reassignment rate", "%", L, (20, 35), (0.3, 0.6)),
             KPITemplate("Mean time to resolve incidents", "hours", L, (8, 24), (0.2, 0.4))),
            (_uc("Incident ticket classification and routing",
                 "Reads each new incident and assigns it to the resolver group most likely to fix it.",
                 "text classification"),
             _uc("Duplicate incident detection",
                 "Links new incidents that describe the same outage so that one team owns them.",
                 "similarity search")),
        ),
        DecisionTemplate(
            "cloud_capacity", "How much cloud capacity do we reserve for next quarter?",
            F.QUARTERLY, (50, 300), (1000, 20000), (2000, 8000), "Cloud cost management review (FinOps)", M.JUDGEMENT,
            (KPITemplate("Cloud cost per thousand transactions", "EUR", L, (0.8, 2.5), (0.1, 0.3), 2),
             KPITemplate("Reserved capacity utilisation", "%", H, (55, 75), (0.1, 0.25))),
            (_uc("Cloud spend forecast",
                 "Forecasts compute and storage use per service for the next quarter.",
                 "time series forecasting"),
             _uc("Reserved instance recommendation",
                 "Recommends which reservations and savings plans to buy given the forecast.",
                 "prescriptive optimisation")),
        ),
        DecisionTemplate(
            "change_review", "Which production changes need a change advisory board review this week?",
            F.WEEKLY, (100, 400), (1000, 30000), (1000, 5000), "Change advisory board agenda in ServiceNow", M.RULES,
            (KPITemplate("Failed changes", "%", L, (8, 15), (0.2, 0.45)),),
            (_uc("Change failure risk prediction",
                 "Predicts each change request's risk of causing an incident from its scope, timing and past changes.",
                 "tabular prediction"),),
        ),
        DecisionTemplate(
            "on_call_paging", "Which monitoring alerts page the on-call engineer at night?",
            F.HOURLY, (50, 500), (100, 5000), (1000, 5000), "PagerDuty escalation policies", M.RULES,
            (KPITemplate("Night pages per on-call week", "pages", L, (15, 40), (0.3, 0.6), 0),
             KPITemplate("Customer-facing incident minutes", "minutes per month", L, (300, 900), (0.15, 0.35), 0)),
            (_uc("Alert correlation and suppression",
                 "Groups related alerts into one incident and holds back alerts that never needed action.",
                 "event correlation"),
             _uc("Anomaly detection on service metrics",
                 "Learns normal behaviour of latency and error rates and alerts on real deviations only.",
                 "time series anomaly detection")),
        ),
    )),
    UnitTemplate("LEG", "Legal", 0.5, (
        DecisionTemplate(
            "contract_triage", "Which incoming contracts can be signed on the standard playbook without a lawyer?",
            F.WEEKLY, (60, 300), (2000, 50000), (500, 3000), "Legal intake form and contract repository", M.JUDGEMENT,
            (KPITemplate("Contracts handled within 5 days", "%", H, (40, 60), (0.2, 0.5)),
             KPITemplate("Outside counsel spend", "EUR thousand per month", L, (150, 400), (0.1, 0.25))),
            (_uc("Contract drafting assistant",
                 "Drafts first versions of standard agreements from the playbook and the deal's term sheet.",
                 "text generation"),),
        ),
        DecisionTemplate(
            "litigation_reserve", "How much do we reserve for each open litigation case this quarter?",
            F.QUARTERLY, (40, 200), (10000, 200000), (1000, 5000), "Quarterly litigation review with Finance", M.JUDGEMENT,
            (KPITemplate("Reserve adjustments at case closure", "EUR thousand per quarter", L, (500, 2000), (0.15, 0.35), 0),),
            (_uc("Litigation outcome estimation",
                 "Estimates the likely outcome and cost range of each case from similar past cases.",
                 "tabular prediction"),),
        ),
        DecisionTemplate(
            "discovery_review", "Which documents are produced in discovery for each case?",
            F.AD_HOC, (10000, 200000), (100, 20000), (2000, 10000), "e-Discovery platform (Relativity)", M.JUDGEMENT,
            (KPITemplate("Review hours per case", "hours", L, (800, 3000), (0.3, 0.6), 0),),
            (_uc("Technology-assisted review",
                 "Learns from the lawyers' first coding decisions to rank the remaining documents by relevance.",
                 "text classification"),),
        ),
        DecisionTemplate(
            "trademark_opposition", "Which trademark conflicts do we oppose this month?",
            F.MONTHLY, (50, 300), (2000, 30000), (200, 1000), "Trademark watch service reports", M.JUDGEMENT,
            (KPITemplate("Opposition deadlines missed", "per year", L, (2, 8), (0.5, 0.9), 0),),
            (_uc("Trademark similarity screening",
                 "Compares new trademark filings with ours by sound, spelling and logo similarity.",
                 "similarity search"),),
        ),
        DecisionTemplate(
            "privacy_requests", "Which data subject requests can be answered automatically within the legal deadline?",
            F.DAILY, (20, 200), (500, 20000), (300, 2000), "Privacy request portal (OneTrust)", M.RULES,
            (KPITemplate("Requests answered within 30 days", "%", H, (80, 92), (0.04, 0.1)),),
            (_uc("Personal data discovery across systems",
                 "Finds where a requester's personal data is stored across the main systems.",
                 "entity linking"),
             _uc("Privacy request classification",
                 "Classifies incoming requests (access, erasure, objection) and checks the requester's identity.",
                 "text classification")),
        ),
    )),
)
UNIT_BY_CODE = {unit.code: unit for unit in UNITS}


@dataclass(frozen=True)
class DuplicateMember:
    unit_code: str
    decision_key: str
    use_case: UseCaseTemplate


# The same capability solving the same problem in different units, worded differently: what
# the duplicated-capability scan should find.
DUPLICATE_FAMILIES = (
    (
        DuplicateMember("FIN", "invoice_approval", _uc(
            "Supplier invoice data capture",
            "Reads scanned and PDF supplier invoices and extracts supplier, invoice number, amounts, VAT and purchase "
            "order reference, so that accounts payable clerks no longer key them in.",
            "document data extraction")),
        DuplicateMember("PRC", "po_matching", _uc(
            "Invoice field extraction for PO matching",
            "Pulls the vendor, totals, tax lines and PO number out of incoming supplier invoices (PDFs, scans, e-mail "
            "attachments) so they can be matched to purchase orders without manual data entry.",
            "document data extraction")),
    ),
    (
        DuplicateMember("CUS", "self_service", _uc(
            "Customer FAQ assistant",
            "A chat assistant on the website and in the app that answers frequent customer questions (billing, "
            "delivery, returns) from the knowledge base and hands over to an agent when unsure.",
            "conversational FAQ assistant")),
        DuplicateMember("HR", "hr_questions", _uc(
            "HR policy chatbot",
            "Answers employees' frequent questions about leave, payroll, benefits and travel policy from the HR "
            "knowledge base, in the HR portal and in Teams, and opens a ticket when it cannot help.",
            "conversational FAQ assistant")),
        DuplicateMember("ITO", "it_self_service", _uc(
            "IT helpdesk FAQ bot",
            "Answers common IT questions (VPN, printers, software requests, laptop set-up) from the IT knowledge base "
            "in the service portal chat and escalates to the service desk when it cannot resolve them.",
            "conversational FAQ assistant")),
    ),
    (
        DuplicateMember("LEG", "contract_triage", _uc(
            "Contract clause extraction and risk review",
            "Extracts key clauses (liability, indemnity, termination, governing law) from incoming contracts and flags "
            "deviations from the legal playbook.",
            "contract clause extraction")),
        DuplicateMember("PRC", "contract_review", _uc(
            "Supplier contract clause risk flagging",
            "Finds liability caps, indemnities, termination and payment terms in supplier contracts and highlights "
            "where they deviate from our standard terms before signature.",
            "contract clause extraction")),
    ),
    (
        DuplicateMember("SCM", "replenishment", _uc(
            "Weekly demand forecast per SKU and warehouse",
            "Forecasts weekly unit demand for each SKU and warehouse from order history, promotions and seasonality, "
            "feeding the replenishment run.",
            "demand forecasting")),
        DuplicateMember("SAL", "account_commitment", _uc(
            "SKU volume forecast for key accounts",
            "Predicts unit volumes per SKU for each quarter from order history, seasonality and planned promotions, to "
            "set what we commit to key accounts.",
            "demand forecasting")),
    ),
    (
        DuplicateMember("CUS", "email_routing", _uc(
            "Customer e-mail triage",
            "Classifies incoming customer e-mails by intent and urgency and routes each one to the right queue.",
            "e-mail intent classification")),
        DuplicateMember("FIN", "ap_mailbox", _uc(
            "Accounts payable mailbox triage",
            "Sorts e-mails arriving in the accounts payable mailbox by intent (invoice, reminder, dispute, statement) and "
            "urgency and routes them to the right clerk's queue.",
            "e-mail intent classification")),
    ),
)
# About one use case in twenty belongs to a duplicate family.
DUPLICATE_FAMILY_RATE = 0.022

REGIONS = (
    "Nordics", "DACH", "Benelux", "France", "Iberia", "Italy", "UK & Ireland", "Poland", "Czechia & Slovakia",
    "Baltics", "Turkey", "Middle East", "South Africa", "North America", "Mexico", "Brazil", "Andean region", "India",
    "Japan", "Korea", "Southeast Asia", "Australia & New Zealand", "Greater China", "Central Asia",
)
BUSINESS_LINES = ("consumer", "SME", "enterprise", "public sector", "online", "retail stores", "wholesale", "franchise")
# Large portfolios repeat the same decision per market; the scope names the market.
SCOPES = ("", *REGIONS, *(f"{region}, {line}" for region in REGIONS for line in BUSINESS_LINES))

FIRST_NAMES = (
    "Anna", "Lars", "Sofia", "Mateo", "Chloé", "Jonas", "Amara", "Wei", "Priya", "Tomasz", "Elena", "Kwame", "Ingrid",
    "Hugo", "Yuki", "Fatima", "Liam", "Noor", "Carlos", "Marta", "Jan", "Aisha", "Pieter", "Greta", "Rafael", "Leila",
    "Oskar", "Nadia", "Daniel", "Sara", "Mikko", "Zeynep", "Lucas", "Hana", "Emeka", "Olivia", "Matteo", "Freya",
    "Arjun", "Clara", "Stefan", "Amélie", "Diego", "Ewa", "Henrik", "Isabel", "Kenji", "Laura", "Malik", "Nina",
    "Omar", "Paula", "Rui", "Sanne", "Tariq", "Ulla", "Viktor", "Ximena", "Yasmin", "Zoltan", "Beatriz", "Felix",
)
LAST_NAMES = (
    "Lindqvist", "Moreau", "García", "Kowalski", "Nakamura", "Okafor", "Schmidt", "Rossi", "Jansen", "Haddad",
    "Novák", "Silva", "Andersen", "Dubois", "Fischer", "Gupta", "Hoffmann", "Ivanova", "Jensen", "Kaya", "Lopez",
    "Meyer", "Nieminen", "Oliveira", "Petrov", "Quinn", "Ramos", "Svensson", "Tanaka", "Usman", "Varga", "Weber",
    "Yilmaz", "Zhang", "Berg", "Costa", "Dahl", "Eriksen", "Ferreira", "Grünwald", "Horvat", "Iqbal", "Kim",
    "Larsen", "Mensah", "Nilsen", "O'Brien", "Pereira", "Rahman", "Santos", "Thomsen", "van Dijk", "Walsh", "Chen",
)
SHARED_MAILBOXES = (
    ("ai-team", "AI team (shared mailbox)", "ITO"),
    ("data-science", "Data science team (shared mailbox)", "ITO"),
    ("analytics", "Analytics support (shared mailbox)", "MKT"),
    ("info", "", None),
)

FORWARD_EVIDENCE = {
    Stage.VALIDATING: (
        "Decision owner confirmed the decision, its frequency and the cost of a wrong call.",
        "Sponsor approved a four-week validation of data and execution point.",
        "Business case reviewed by the program office; validation approved.",
    ),
    Stage.PILOT: (
        "Data profiled: two years of history, under 3% missing; execution point agreed with the system owner.",
        "Data access granted and a sample validated with the business; pilot scope signed.",
        "Integration point confirmed with the platform team; pilot population chosen.",
    ),
    Stage.PRODUCTION: (
        "Pilot beat the baseline on the KPI for six weeks; monitoring plan signed off.",
        "A/B test significant on the business KPI; go-live approved by the decision owner.",
        "Pilot results reviewed at the steering committee; production run and monitoring in place.",
    ),
}
BACKWARD_REASONS = {
    (Stage.VALIDATING, Stage.PROPOSED): (
        "The data owner has not granted access yet; back to proposed until it is sorted.",
        "The decision owner changed; the scope has to be agreed again.",
    ),
    (Stage.PILOT, Stage.VALIDATING): (
        "Pilot data turned out to miss most of last year's history; the sources are being validated again.",
        "The execution point moved to the new CRM; the integration has to be validated again.",
    ),
    (Stage.PRODUCTION, Stage.PILOT): (
        "Drift after the pricing change; back to a controlled pilot while the model is retrained.",
        "The KPI moved the wrong way after go-live; rolled back to a pilot on one region.",
    ),
    (Stage.RETIRED, Stage.PROPOSED): (
        "Revived with a new sponsor after the reorganisation.",
    ),
}
RETIREMENT_REASONS = (
    "The business case did not hold once the integration costs were known.",
    "Replaced by a feature of the vendor's standard product.",
    "The sponsor left and nobody took over the decision.",
    "The data it needs cannot be used under the privacy impact assessment.",
    "Merged into a group-wide use case serving the same decision.",
    "Too few decisions a year to justify running a model.",
    "The pilot showed no measurable change in the KPI.",
)
MONITORING_PLANS = (
    "Weekly drift report on the input features; alert to the technical owner when the KPI moves 10% away from target.",
    "Monthly business review of the KPI with the decision owner; automated data quality checks on every run.",
    "Daily data freshness and volume checks; quarterly back-test against realised outcomes; retraining on alert.",
    "Dashboard of overrides by users and of the KPI by region, reviewed fortnightly by the business owner.",
)

# Fate, path and timing -----------------------------------------------------------------------

FATES = (Stage.PROPOSED, Stage.VALIDATING, Stage.PILOT, Stage.PRODUCTION, Stage.RETIRED)
FATE_WEIGHTS = (0.20, 0.16, 0.22, 0.26, 0.16)
FORWARD_PATH = (Stage.PROPOSED, Stage.VALIDATING, Stage.PILOT, Stage.PRODUCTION)
# Days a use case spends in a stage before it moves on, at least: nobody validates data in
# an afternoon or proves a pilot in a week.
MIN_DAYS_IN_STAGE = {Stage.PROPOSED: 3, Stage.VALIDATING: 14, Stage.PILOT: 42, Stage.PRODUCTION: 30, Stage.RETIRED: 30}

READINESS_BY_STAGE = {
    # per layer (data, infrastructure, model, orchestration, inference): ((value, weight), ...)
    Stage.PROPOSED: (
        ((Readiness.NONE, 5), (Readiness.PLANNED, 4), (Readiness.PARTIAL, 1)),
        ((Readiness.NONE, 6), (Readiness.PLANNED, 4)),
        ((Readiness.NONE, 17), (Readiness.PLANNED, 3)),
        ((Readiness.NONE, 1),),
        ((Readiness.NONE, 1),),
    ),
    Stage.VALIDATING: (
        ((Readiness.PLANNED, 3), (Readiness.PARTIAL, 5), (Readiness.READY, 2)),
        ((Readiness.NONE, 2), (Readiness.PLANNED, 5), (Readiness.PARTIAL, 3)),
        ((Readiness.NONE, 5), (Readiness.PLANNED, 5)),
        ((Readiness.NONE, 7), (Readiness.PLANNED, 3)),
        ((Readiness.NONE, 8), (Readiness.PLANNED, 2)),
    ),
    Stage.PILOT: (
        ((Readiness.PARTIAL, 11), (Readiness.READY, 9)),
        ((Readiness.PLANNED, 2), (Readiness.PARTIAL, 5), (Readiness.READY, 3)),
        ((Readiness.PARTIAL, 1), (Readiness.READY, 1)),
        ((Readiness.NONE, 3), (Readiness.PLANNED, 9), (Readiness.PARTIAL, 8)),
        ((Readiness.NONE, 2), (Readiness.PLANNED, 8), (Readiness.PARTIAL, 10)),
    ),
    # A few production use cases are below the gate on a layer: gates came after them.
    Stage.PRODUCTION: (
        ((Readiness.PARTIAL, 2), (Readiness.READY, 8)),
        ((Readiness.PARTIAL, 4), (Readiness.READY, 6)),
        ((Readiness.PARTIAL, 1), (Readiness.READY, 9)),
        ((Readiness.PLANNED, 1), (Readiness.PARTIAL, 8), (Readiness.READY, 11)),
        ((Readiness.PLANNED, 1), (Readiness.PARTIAL, 7), (Readiness.READY, 12)),
    ),
}

FRICTION_WEIGHTS_BY_STAGE = {
    Stage.PROPOSED: {"governance_gap": 2, "misaligned_value_metrics": 2, "skills_mismatch": 1},
    Stage.VALIDATING: {"governance_gap": 3, "legacy_rigidity": 3, "integration_abyss": 1, "misaligned_value_metrics": 2,
                       "skills_mismatch": 1},
    Stage.PILOT: {"integration_abyss": 3, "legacy_rigidity": 2, "monitoring_underinvestment": 1,
                  "trust_and_workflow_friction": 2, "misaligned_value_metrics": 2, "skills_mismatch": 1,
                  "governance_gap": 1},
    Stage.PRODUCTION: {"monitoring_underinvestment": 3, "trust_and_workflow_friction": 3, "skills_mismatch": 2,
                       "misaligned_value_metrics": 2},
    Stage.RETIRED: {"misaligned_value_metrics": 3, "integration_abyss": 3, "trust_and_workflow_friction": 2,
                    "governance_gap": 1},
}
FRICTION_SHARE_BY_STAGE = {Stage.PROPOSED: 0.15, Stage.VALIDATING: 0.35, Stage.PILOT: 0.55, Stage.PRODUCTION: 0.25,
                           Stage.RETIRED: 0.5}

# Shares of the situations the scans look for.
PEOPLE_LEFT_SHARE = 0.08
STALE_CONFIRMATION_SHARE = 0.12
BROKEN_FEEDBACK_SHARE = 0.15
NO_TECHNICAL_OWNER_SHARE = {Stage.PROPOSED: 0.45, Stage.VALIDATING: 0.25, Stage.PILOT: 0.08, Stage.PRODUCTION: 0.05}
NO_BUSINESS_OWNER_SHARE = {Stage.PROPOSED: 0.10, Stage.VALIDATING: 0.04}
MAILBOX_OWNER_SHARE = 0.03
OBSERVATIONS_KEPT = 8


# Results ----------------------------------------------------------------------------------------


class RegistryNotEmpty(Exception):
    """The registry already holds data; seeding on top of it would mix demo and real rows."""


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    email: str
    name: str


@dataclass
class DemoSummary:
    counts: dict[str, int]
    use_cases_by_stage: dict[str, int]
    situations: dict[str, int]
    logins: list[DemoLogin]
    password: str = DEMO_PASSWORD


# Rows -------------------------------------------------------------------------------------------
# One named tuple per table, its fields the model's column attributes: a row goes to COPY as it
# is and to bulk_create as keyword arguments.


class UnitRow(NamedTuple):
    name: str
    created_at: datetime.datetime


class PersonRow(NamedTuple):
    email: str
    name: str
    business_unit_id: int | None
    active: bool
    created_at: datetime.datetime


class DecisionRow(NamedTuple):
    statement: str
    business_unit_id: int
    owner_id: int | None
    owner_confirmed_on: datetime.date | None
    frequency: str
    decisions_per_period: int
    cost_of_error: Decimal
    cost_of_delay_per_day: Decimal
    execution_point: str
    current_method: str
    created_at: datetime.datetime
    updated_at: datetime.datetime


class UseCaseRow(NamedTuple):
    decision_id: int
    external_id: str
    title: str
    summary: str
    capability: str
    business_unit_id: int
    business_owner_id: int | None
    business_owner_confirmed_on: datetime.date | None
    technical_owner_id: int | None
    technical_owner_confirmed_on: datetime.date | None
    stage: str
    stage_entered_on: datetime.date
    data_readiness: str
    infrastructure_readiness: str
    model_readiness: str
    orchestration_readiness: str
    inference_readiness: str
    expected_annual_value: Decimal | None
    monitoring_plan: str
    version: int
    created_at: datetime.datetime
    updated_at: datetime.datetime


class TransitionRow(NamedTuple):
    use_case_id: int | None
    from_stage: str
    to_stage: str
    occurred_at: datetime.datetime
    actor_id: int | None
    source: str
    reason: str


class KPIRow(NamedTuple):
    use_case_id: int | None
    name: str
    unit: str
    direction: str
    baseline: Decimal
    target: Decimal | None
    created_at: datetime.datetime


class ObservationRow(NamedTuple):
    kpi_id: int | None
    observed_on: datetime.date
    value: Decimal
    recorded_at: datetime.datetime
    recorded_by_id: int | None
    source: str


class FrictionLinkRow(NamedTuple):
    usecase_id: int
    frictionpoint_id: str


def make_room_for_demo(*, reset: bool) -> None:
    """Empty the registry when asked to; otherwise refuse to seed over what it holds."""
    if reset:
        clear_registry()
    elif registry_holds_data():
        raise RegistryNotEmpty(
            "The registry already holds data; seed_demo only fills an empty registry. "
            "Run it with --reset to delete everything in the registry and start over."
        )


def registry_holds_data() -> bool:
    return any(model.objects.exists() for model in (BusinessUnit, Person, Decision, UseCase))


def _models_to_clear() -> list[type[models.Model]]:
    """Registry tables (history included) and, anywhere, tables whose rows point at them.

    Ordered so that rows pointing at others go first. Friction points are reference data
    from a migration and stay.
    """
    doomed = {m for m in apps.get_app_config("registry").get_models(include_auto_created=True) if m is not FrictionPoint}
    all_models = apps.get_models(include_auto_created=True)
    while True:
        referrers = {
            model for model in all_models
            if model not in doomed
            and any(f.many_to_one or f.one_to_one for f in model._meta.concrete_fields if f.related_model in doomed)
        }
        if not referrers:
            break
        doomed |= referrers
    referrers_of = {model: set() for model in doomed}
    for model in doomed:
        for f in model._meta.concrete_fields:
            if f.is_relation and f.related_model in doomed and f.related_model is not model:
                referrers_of[f.related_model].add(model)
    return list(graphlib.TopologicalSorter(referrers_of).static_order())


def clear_registry() -> None:
    """Delete every registry row and its history, bypassing model methods and signals.

    StageTransition refuses `delete()` by design, and history signals would write a
    deletion record per row; a demo reset wants neither.
    """
    with transaction.atomic():
        for model in _models_to_clear():
            queryset = model._base_manager.all()
            queryset._raw_delete(queryset.db)


# Generation -------------------------------------------------------------------------------------


@dataclass
class _Directory:
    """Who can hold which role, by primary key; what a person last did bounds when they left."""

    members: dict[str, list[int]] = field(default_factory=dict)
    managers: dict[str, list[int]] = field(default_factory=dict)
    technical: dict[str, list[int]] = field(default_factory=dict)
    mailboxes: list[int] = field(default_factory=list)
    leavers: dict[int, PersonRow] = field(default_factory=dict)
    last_seen: dict[int, datetime.date] = field(default_factory=dict)
    login_people: dict[str, tuple[int, PersonRow]] = field(default_factory=dict)

    def saw(self, person_id: int | None, day: datetime.date) -> None:
        if person_id is not None and day > self.last_seen.get(person_id, datetime.date.min):
            self.last_seen[person_id] = day


@dataclass
class _DecisionRef:
    pk: int
    template: DecisionTemplate
    created_day: datetime.date
    owner_id: int | None


@dataclass
class _Plan:
    """One use case and the rows that hang off it, completed once the use case has its key."""

    use_case: UseCaseRow
    friction_codes: list[str]
    transitions: list[TransitionRow]
    kpis: list[tuple[KPIRow, list[ObservationRow]]]


class _Clock:
    """Days and times relative to `today`; the last day anything happens is yesterday."""

    def __init__(self, rng: random.Random, today: datetime.date):
        self.rng = rng
        self.today = today
        self.last_day = today - datetime.timedelta(days=1)
        self.first_day = today - datetime.timedelta(days=HISTORY_DAYS)
        self.zone = timezone.get_current_timezone()

    def days_ago(self, days: int) -> datetime.date:
        return self.last_day - datetime.timedelta(days=days)

    def at(self, day: datetime.date, *, hour: int | None = None) -> datetime.datetime:
        """A moment in office hours on `day`, in the current time zone."""
        moment = datetime.time(self.rng.randint(8, 18) if hour is None else hour, self.rng.randint(0, 59))
        return datetime.datetime.combine(day, moment, tzinfo=self.zone)

    def between(self, first: datetime.date, last: datetime.date) -> datetime.date:
        return first + datetime.timedelta(days=self.rng.randint(0, max(0, (last - first).days)))


def _weighted(rng: random.Random, pairs):
    values, weights = zip(*pairs)
    return rng.choices(values, weights)[0]


def _money(rng: random.Random, low: float, high: float) -> Decimal:
    """An amount as people write it: round tens above a thousand, cents only below ten."""
    amount = rng.uniform(low, high)
    if amount >= 1000:
        return Decimal(round(amount, -1)).quantize(Decimal("0.01"))
    if amount >= 10:
        return Decimal(round(amount)).quantize(Decimal("0.01"))
    return Decimal(f"{amount:.2f}")


def _decimal(value: float, places: int) -> Decimal:
    return Decimal(f"{value:.{places}f}")


def _lower_first(text: str) -> str:
    return text[0].lower() + text[1:]


def _ascii(text: str) -> str:
    """E-mail local parts without accents: 'chloé.grünwald' → chloe.grunwald."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


class _PortfolioBuilder:
    def __init__(self, *, use_cases: int, seed: int, today: datetime.date, progress):
        self.total = use_cases
        self.rng = random.Random(seed)
        self.clock = _Clock(self.rng, today)
        self.progress = progress or (lambda done: None)
        self.directory = _Directory()
        self.unit_ids: dict[str, int] = {}
        self.decisions: dict[tuple[str, str, int], _DecisionRef] = {}
        self.title_counts: Counter = Counter()
        self.external_id_counts: Counter = Counter()
        self.external_id_width = max(4, len(str(use_cases)))
        decision_templates = sum(len(unit.decisions) for unit in UNITS)
        self.scopes = [SCOPES[0], *self.rng.sample(SCOPES[1:], len(SCOPES) - 1)]
        self.scopes_in_use = max(1, min(len(SCOPES), math.ceil(use_cases / (decision_templates * 2.5))))
        self.families_planted = 0

    def _insert_with_history(self, model, rows: list[tuple], *, dated_by: str = "created_at") -> list[int]:
        ids = bulk.insert_rows(model, rows, returning_ids=True)
        bulk.insert_history_rows(model, ids, rows, [getattr(row, dated_by) for row in rows], reason=HISTORY_REASON)
        return ids

    # Units and people

    def create_units(self) -> None:
        created_at = self.clock.at(self.clock.first_day - datetime.timedelta(days=14), hour=9)
        ids = self._insert_with_history(BusinessUnit, [UnitRow(unit.name, created_at) for unit in UNITS])
        self.unit_ids = {unit.code: pk for unit, pk in zip(UNITS, ids)}

    def create_people(self, count: int) -> None:
        rng, clock = self.rng, self.clock
        joined = clock.at(clock.first_day - datetime.timedelta(days=7), hour=7)
        emails_taken: Counter = Counter()
        people: list[PersonRow] = []
        roles: list[tuple[str, bool, bool]] = []  # unit code, is manager, is technical
        total_weight = sum(unit.weight for unit in UNITS)
        for template in UNITS:
            size = max(6, round(count * template.weight / total_weight))
            for index in range(size):
                first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
                local = _ascii(f"{first}.{last}".lower().replace(" ", "").replace("'", ""))
                emails_taken[local] += 1
                if emails_taken[local] > 1:
                    local += str(emails_taken[local])
                is_manager = index < max(2, round(size * 0.15))
                is_technical = rng.random() < (0.6 if template.code == "ITO" else 0.15)
                people.append(PersonRow(f"{local}@{DEMO_DOMAIN}", f"{first} {last}", self.unit_ids[template.code],
                                        rng.random() >= PEOPLE_LEFT_SHARE, joined))
                roles.append((template.code, is_manager, is_technical))
        logins = {
            BUSINESS_OWNER: next(i for i, (code, manager, _) in enumerate(roles) if code == "CUS" and manager),
            PROGRAM_OFFICE: next(i for i, (code, manager, _) in enumerate(roles) if code == "ITO" and not manager),
            AUDITOR: next(i for i, (code, manager, _) in enumerate(roles) if code == "RSK" and not manager),
        }
        for index in logins.values():
            people[index] = people[index]._replace(active=True)
        for local, name, unit_code in SHARED_MAILBOXES:
            people.append(PersonRow(f"{local}@{DEMO_DOMAIN}", name, self.unit_ids.get(unit_code), True, joined))

        ids = bulk.insert_rows(Person, people, returning_ids=True)
        # Everyone was active when they joined; record_leaving() writes the day they left.
        bulk.insert_history_rows(Person, ids, [person._replace(active=True) for person in people],
                                 [person.created_at for person in people], reason=HISTORY_REASON)

        directory = self.directory
        for pk, person, (code, is_manager, is_technical) in zip(ids, people, roles):
            directory.members.setdefault(code, []).append(pk)
            if is_manager:
                directory.managers.setdefault(code, []).append(pk)
            if is_technical:
                directory.technical.setdefault(code, []).append(pk)
            if not person.active:
                directory.leavers[pk] = person
        directory.mailboxes = ids[len(roles):]
        directory.login_people = {role: (ids[index], people[index]) for role, index in logins.items()}

    def record_leaving(self) -> None:
        """A second history record for each person who left, after the last thing they did."""
        clock, directory = self.clock, self.directory
        left_on = []
        for pk in directory.leavers:
            day_after = directory.last_seen.get(pk, clock.first_day) + datetime.timedelta(days=1)
            left_on.append(clock.at(clock.between(min(day_after, clock.last_day), clock.last_day)))
        bulk.insert_history_rows(Person, list(directory.leavers), list(directory.leavers.values()), left_on,
                                 change="~", reason="left the company (directory feed)")

    # Decisions

    def _pick_decision_owner(self, unit_code: str) -> int | None:
        rng, directory = self.rng, self.directory
        roll = rng.random()
        if roll < 0.02:
            return None
        if roll < 0.035:
            return rng.choice(directory.mailboxes)
        if unit_code == "CUS" and rng.random() < 0.4:
            return directory.login_people[BUSINESS_OWNER][0]
        return rng.choice(directory.managers[unit_code])

    def _confirmation_day(self, since: datetime.date, owner_id: int) -> datetime.date:
        """When an owner last confirmed; some long ago enough for the ownership scan.

        People who have left never confirmed again after they were made owner, so the day
        they left can come after everything they did.
        """
        clock = self.clock
        stale_before = clock.days_ago(181)
        if owner_id in self.directory.leavers:
            return since
        if since <= stale_before and self.rng.random() < STALE_CONFIRMATION_SHARE:
            return clock.between(since, stale_before)
        return clock.between(max(since, clock.days_ago(170)), clock.last_day)

    def _new_decision(self, unit_code: str, template: DecisionTemplate, scope: str) -> DecisionRow:
        rng, clock = self.rng, self.clock
        # A third of the decisions came with the first inventory, when the registry started.
        if rng.random() < 0.35:
            created_day = clock.first_day + datetime.timedelta(days=rng.randint(0, 30))
        else:
            created_day = clock.between(clock.first_day, clock.days_ago(20))
        created_at = clock.at(created_day)
        owner_id = self._pick_decision_owner(unit_code)
        return DecisionRow(
            statement=f"{scope}: {_lower_first(template.statement)}" if scope else template.statement,
            business_unit_id=self.unit_ids[unit_code],
            owner_id=owner_id,
            owner_confirmed_on=self._confirmation_day(created_day, owner_id) if owner_id else None,
            frequency=template.frequency,
            decisions_per_period=rng.randint(*template.decisions_per_period),
            cost_of_error=_money(rng, *template.cost_of_error),
            cost_of_delay_per_day=_money(rng, *template.cost_of_delay_per_day),
            execution_point=template.execution_point,
            current_method=template.current_method,
            created_at=created_at,
            updated_at=created_at if rng.random() < 0.5 else clock.at(clock.between(created_day, clock.last_day)),
        )

    def ensure_decisions(self, keys: list[tuple[str, str, int]]) -> None:
        new_decisions: dict[tuple[str, str, int], DecisionRow] = {}
        for key in keys:
            if key in self.decisions or key in new_decisions:
                continue
            unit_code, template_key, scope_index = key
            template = UNIT_BY_CODE[unit_code].decision(template_key)
            new_decisions[key] = self._new_decision(unit_code, template, self.scopes[scope_index])
        ids = self._insert_with_history(Decision, list(new_decisions.values()))
        for pk, (key, decision) in zip(ids, new_decisions.items()):
            unit_code, template_key, _ = key
            created_day = decision.created_at.date()
            self.directory.saw(decision.owner_id, created_day)
            template = UNIT_BY_CODE[unit_code].decision(template_key)
            self.decisions[key] = _DecisionRef(pk, template, created_day, decision.owner_id)

    # Use cases

    def specs(self) -> Iterator[tuple[str, str, int, UseCaseTemplate]]:
        """(unit code, decision template key, scope index, use case template), `total` of them.

        Every duplicate family comes once first, so even a small portfolio shows them.
        """
        rng = self.rng
        emitted = 0
        unit_weights = [unit.weight for unit in UNITS]
        pending = [[(member, 0) for member in family] for family in DUPLICATE_FAMILIES]
        while emitted < self.total:
            if not pending and rng.random() < DUPLICATE_FAMILY_RATE:
                scope_index = rng.randrange(self.scopes_in_use)
                pending = [[(member, scope_index) for member in rng.choice(DUPLICATE_FAMILIES)]]
            if pending:
                member, scope_index = pending[0].pop(0)
                if not pending[0]:
                    pending.pop(0)
                    self.families_planted += 1
                yield member.unit_code, member.decision_key, scope_index, member.use_case
            else:
                unit = rng.choices(UNITS, unit_weights)[0]
                decision = rng.choice(unit.decisions)
                yield unit.code, decision.key, rng.randrange(self.scopes_in_use), rng.choice(decision.use_cases)
            emitted += 1

    def _stage_path(self, fate: str) -> list[str]:
        rng = self.rng
        roll = rng.random()
        if fate == Stage.PROPOSED:
            if roll < 0.05:
                return [Stage.PROPOSED, Stage.VALIDATING, Stage.PROPOSED]
            if roll < 0.08:
                return [Stage.PROPOSED, Stage.RETIRED, Stage.PROPOSED]
            return [Stage.PROPOSED]
        if fate == Stage.RETIRED:
            retired_from = _weighted(
                rng, ((Stage.PROPOSED, 15), (Stage.VALIDATING, 30), (Stage.PILOT, 40), (Stage.PRODUCTION, 15))
            )
            return [*FORWARD_PATH[:FORWARD_PATH.index(retired_from) + 1], Stage.RETIRED]
        path = list(FORWARD_PATH[:FORWARD_PATH.index(fate) + 1])
        if roll < 0.1:
            path += [Stage.PILOT, Stage.VALIDATING] if fate == Stage.VALIDATING else [path[-2], fate]
        return path

    def _days_in_final_stage(self, path: list[str]) -> int:
        rng, final = self.rng, path[-1]
        if final == Stage.VALIDATING:
            return rng.randint(3, 55) if rng.random() < 0.6 else rng.randint(61, 400)
        if final == Stage.PILOT:
            # Nearly half the pilots have stalled: the pattern the essays warn about.
            return rng.randint(5, 85) if rng.random() < 0.55 else rng.randint(91, 540)
        if final == Stage.PRODUCTION:
            return rng.randint(20, 600)
        if final == Stage.RETIRED:
            return rng.randint(10, 600)
        return rng.randint(5, 200) if len(path) > 1 else rng.randint(0, HISTORY_DAYS)

    def _timeline(self, decision: _DecisionRef) -> tuple[list[str], list[datetime.date]]:
        """A stage path and the day of each move, within the decision's life and before today."""
        rng, clock = self.rng, self.clock
        earliest = max(decision.created_day, clock.first_day)
        room = (clock.last_day - earliest).days
        path = self._stage_path(rng.choices(FATES, FATE_WEIGHTS)[0])
        least_days_before = list(itertools.accumulate(MIN_DAYS_IN_STAGE[stage] for stage in path[:-1]))
        shortest = least_days_before[-1] if least_days_before else 0
        if room < shortest:
            path, least_days_before, shortest = [Stage.PROPOSED], [], 0
        age = min(self._days_in_final_stage(path), room - shortest)
        entered_final = clock.days_ago(age)
        registered = clock.between(earliest, entered_final - datetime.timedelta(days=shortest))
        # Spread the spare days over the stages, keeping each stage's minimum.
        spare = (entered_final - registered).days - shortest
        offsets = sorted(rng.randint(0, spare) for _ in least_days_before[:-1])
        days = [registered]
        days += [registered + datetime.timedelta(days=least + offset) for least, offset in zip(least_days_before, offsets)]
        if least_days_before:
            days.append(entered_final)
        return path, days

    def _transitions(self, path: list[str], days: list[datetime.date]) -> list[TransitionRow]:
        rng, transitions = self.rng, []
        for index, (to_stage, day) in enumerate(zip(path, days)):
            from_stage = path[index - 1] if index else ""
            if not from_stage:
                reason = ""
            elif to_stage == Stage.RETIRED:
                reason = rng.choice(RETIREMENT_REASONS)
            elif (from_stage, to_stage) in BACKWARD_REASONS:
                reason = rng.choice(BACKWARD_REASONS[(from_stage, to_stage)])
            else:
                reason = rng.choice(FORWARD_EVIDENCE[to_stage])
            transitions.append(TransitionRow(None, from_stage, to_stage, self.clock.at(day), None, TransitionSource.DEMO, reason))
        return transitions

    def _owners(self, unit_code: str, decision: _DecisionRef, gate_stage: str) -> tuple[int | None, int | None]:
        rng, directory = self.rng, self.directory
        if rng.random() < NO_BUSINESS_OWNER_SHARE.get(gate_stage, 0):
            business = None
        elif decision.owner_id is not None and decision.owner_id not in directory.mailboxes and rng.random() < 0.35:
            business = decision.owner_id
        elif rng.random() < MAILBOX_OWNER_SHARE / 3:
            business = rng.choice(directory.mailboxes)
        else:
            business = rng.choice(directory.members[unit_code])
        if rng.random() < NO_TECHNICAL_OWNER_SHARE[gate_stage]:
            technical = None
        elif rng.random() < MAILBOX_OWNER_SHARE:
            technical = rng.choice(directory.mailboxes)
        else:
            pool = directory.technical.get(unit_code) if rng.random() < 0.7 else None
            technical = rng.choice(pool or directory.technical["ITO"])
        return business, technical

    def _stalled(self, path: list[str], days: list[datetime.date]) -> bool:
        """Stuck in validation or pilot for over two months, and nobody touched it since then."""
        return path[-1] in (Stage.PILOT, Stage.VALIDATING) and days[-1] < self.clock.days_ago(60)

    def _kpis(self, template: DecisionTemplate, path: list[str], days: list[datetime.date],
              broken_feedback: bool) -> list[tuple[KPIRow, list[ObservationRow]]]:
        """KPIs from validation on, with observations from the pilot on."""
        rng, clock = self.rng, self.clock
        stage_reached = max(FORWARD_PATH.index(stage) for stage in path if stage in FORWARD_PATH)
        if stage_reached < FORWARD_PATH.index(Stage.VALIDATING):
            return []
        piloted = stage_reached >= FORWARD_PATH.index(Stage.PILOT)
        if not piloted and rng.random() < 0.55:
            return []
        count = 2 if piloted and len(template.kpis) > 1 and rng.random() < 0.35 else 1
        first_day_in = {stage: day for stage, day in reversed(list(zip(path, days)))}
        measured_from = first_day_in[Stage.PILOT if piloted else Stage.VALIDATING]
        last_observed = self._last_observation_day(path, days, broken_feedback) if piloted else None
        kpis = []
        for kpi_template in rng.sample(template.kpis, count):
            baseline = rng.uniform(*kpi_template.baseline)
            move = baseline * rng.uniform(*kpi_template.improvement)
            target = baseline + move if kpi_template.direction == KPIDirection.HIGHER_IS_BETTER else baseline - move
            has_target = piloted or rng.random() < 0.5
            kpi = KPIRow(
                use_case_id=None, name=kpi_template.name, unit=kpi_template.unit, direction=kpi_template.direction,
                baseline=_decimal(baseline, kpi_template.decimals),
                target=_decimal(target, kpi_template.decimals) if has_target else None,
                created_at=clock.at(min(measured_from + datetime.timedelta(days=rng.randint(0, 10)), clock.last_day)),
            )
            observations = []
            if last_observed is not None:
                observations = self._observations(kpi_template, baseline, target, path[-1],
                                                  measured_from + datetime.timedelta(days=14), last_observed)
            kpis.append((kpi, observations))
        return kpis

    def _last_observation_day(self, path, days, broken_feedback: bool) -> datetime.date:
        rng, clock = self.rng, self.clock
        final, entered_final = path[-1], days[-1]
        if final == Stage.RETIRED:
            return entered_final - datetime.timedelta(days=rng.randint(0, 20))
        if final == Stage.PRODUCTION and broken_feedback:
            return clock.days_ago(rng.randint(100, 400))
        if self._stalled(path, days):
            return min(entered_final + datetime.timedelta(days=rng.randint(14, 40)), clock.days_ago(61))
        return clock.days_ago(rng.randint(0, 30))

    def _observations(self, kpi_template: KPITemplate, baseline: float, target: float, final: str,
                      first: datetime.date, last: datetime.date) -> list[ObservationRow]:
        """Monthly readings, the latest few kept, drifting from the baseline towards the target."""
        rng, clock = self.rng, self.clock
        days = []
        day = last
        while day >= first and len(days) < OBSERVATIONS_KEPT:
            days.append(day)
            day -= datetime.timedelta(days=rng.randint(27, 33))
        days.reverse()
        reach = {Stage.PRODUCTION: (0.3, 1.15), Stage.PILOT: (-0.1, 0.6)}.get(final, (-0.3, 0.4))
        progress_at_end = rng.uniform(*reach)
        observations = []
        for index, observed_on in enumerate(days):
            progress = progress_at_end * (index + 1) / len(days) + rng.gauss(0, 0.12)
            value = max(0.0, baseline + (target - baseline) * progress)
            observations.append(ObservationRow(None, observed_on, _decimal(value, kpi_template.decimals),
                                               clock.at(observed_on, hour=17), None, TransitionSource.DEMO))
        return observations

    def plan_use_case(self, unit_code: str, decision_key: str, scope_index: int, template: UseCaseTemplate) -> _Plan:
        rng, clock = self.rng, self.clock
        decision = self.decisions[(unit_code, decision_key, scope_index)]
        path, days = self._timeline(decision)
        transitions = self._transitions(path, days)
        final, entered_final = path[-1], days[-1]
        gate_stage = path[-2] if final == Stage.RETIRED else final
        registered_day = days[0]
        last_move_at = transitions[-1].occurred_at

        scope = self.scopes[scope_index]
        self.title_counts[(unit_code, scope_index, template.title)] += 1
        repeat = self.title_counts[(unit_code, scope_index, template.title)]
        title = template.title + (f" v{repeat}" if repeat > 1 else "") + (f" — {scope}" if scope else "")
        self.external_id_counts[unit_code] += 1
        external_id = f"{unit_code}-{self.external_id_counts[unit_code]:0{self.external_id_width}d}"

        business_owner, technical_owner = self._owners(unit_code, decision, gate_stage)
        # The production gate wanted both owners active when the use case went live.
        went_live = max((day for stage, day in zip(path, days) if stage == Stage.PRODUCTION), default=registered_day)
        for owner in (business_owner, technical_owner):
            self.directory.saw(owner, went_live)
        if self._stalled(path, days) or rng.random() < 0.3:
            updated_at, edits = last_move_at, 0
        else:
            updated_at = max(clock.at(clock.between(entered_final, clock.last_day)), last_move_at)
            edits = rng.randint(1, 4)
        readiness = [_weighted(rng, layer) for layer in READINESS_BY_STAGE[gate_stage]]
        in_pilot_or_beyond = gate_stage in (Stage.PILOT, Stage.PRODUCTION)
        has_monitoring_plan = (gate_stage == Stage.PRODUCTION and rng.random() < 0.92
                               or gate_stage == Stage.PILOT and rng.random() < 0.4)

        use_case = UseCaseRow(
            decision_id=decision.pk,
            external_id=external_id,
            title=title,
            summary=template.summary + (f" Scope: {scope}." if scope else ""),
            capability=template.capability,
            business_unit_id=self.unit_ids[unit_code],
            business_owner_id=business_owner,
            business_owner_confirmed_on=self._confirmation_day(registered_day, business_owner) if business_owner else None,
            technical_owner_id=technical_owner,
            technical_owner_confirmed_on=self._confirmation_day(registered_day, technical_owner) if technical_owner else None,
            stage=final,
            stage_entered_on=entered_final,
            data_readiness=readiness[0],
            infrastructure_readiness=readiness[1],
            model_readiness=readiness[2],
            orchestration_readiness=readiness[3],
            inference_readiness=readiness[4],
            expected_annual_value=(
                Decimal(round(min(rng.lognormvariate(11.5, 1.0), 5e7), -3)).quantize(Decimal("0.01"))
                if in_pilot_or_beyond or rng.random() < 0.5 else None
            ),
            monitoring_plan=rng.choice(MONITORING_PLANS) if has_monitoring_plan else "",
            version=len(path) + edits,
            created_at=transitions[0].occurred_at,
            updated_at=updated_at,
        )
        friction_codes = []
        if rng.random() < FRICTION_SHARE_BY_STAGE[final]:
            weights = FRICTION_WEIGHTS_BY_STAGE[final]
            wanted = _weighted(rng, ((1, 5), (2, 3), (3, 1)))
            friction_codes = sorted({rng.choices(list(weights), list(weights.values()))[0] for _ in range(wanted)})
        broken_feedback = final == Stage.PRODUCTION and rng.random() < BROKEN_FEEDBACK_SHARE
        return _Plan(use_case, friction_codes, transitions, self._kpis(decision.template, path, days, broken_feedback))

    def write_use_cases(self, specs: list) -> None:
        self.ensure_decisions([(unit, key, scope) for unit, key, scope, _ in specs])
        plans = [self.plan_use_case(*spec) for spec in specs]
        rows = [plan.use_case for plan in plans]
        ids = bulk.insert_rows(UseCase, rows, returning_ids=True)
        history_ids = bulk.insert_history_rows(UseCase, ids, rows, [row.created_at for row in rows], reason=HISTORY_REASON,
                                               returning_ids=True)

        links, link_history_ids, transitions, kpis, kpi_observations = [], [], [], [], []
        for plan, use_case_id, history_id in zip(plans, ids, history_ids):
            for code in plan.friction_codes:
                links.append(FrictionLinkRow(use_case_id, code))
                link_history_ids.append(history_id)
            transitions += [transition._replace(use_case_id=use_case_id) for transition in plan.transitions]
            for kpi, observations in plan.kpis:
                kpis.append(kpi._replace(use_case_id=use_case_id))
                kpi_observations.append(observations)
        link_ids = bulk.insert_rows(UseCase.friction_points.through, links, returning_ids=True)
        # The use case's creation record lists its friction points, as simple-history does on save.
        bulk.insert_rows(
            apps.get_model("registry", "HistoricalUseCase_friction_points"),
            [(pk, link.usecase_id, link.frictionpoint_id, history_id)
             for pk, link, history_id in zip(link_ids, links, link_history_ids)],
            columns=("id", "usecase_id", "frictionpoint_id", "history_id"),
        )
        bulk.insert_rows(StageTransition, transitions)
        kpi_ids = self._insert_with_history(KPI, kpis)
        observations = [
            observation._replace(kpi_id=kpi_id)
            for kpi_id, observations_of_kpi in zip(kpi_ids, kpi_observations)
            for observation in observations_of_kpi
        ]
        self._insert_with_history(KPIObservation, observations, dated_by="recorded_at")

    def write_all_use_cases(self) -> None:
        chunk = []
        for spec in self.specs():
            chunk.append(spec)
            if len(chunk) == CHUNK_SIZE:
                self.write_use_cases(chunk)
                self.progress(len(chunk))
                chunk = []
        if chunk:
            self.write_use_cases(chunk)
            self.progress(len(chunk))

    # Logins

    def create_logins(self) -> list[DemoLogin]:
        User = get_user_model()
        password_hash = make_password(DEMO_PASSWORD)
        logins = []
        for username, role in (("office", PROGRAM_OFFICE), ("owner", BUSINESS_OWNER), ("auditor", AUDITOR)):
            _, person = self.directory.login_people[role]
            first_name, _, last_name = person.name.partition(" ")
            user, _ = User.objects.get_or_create(username=username)
            user.email, user.first_name, user.last_name = person.email, first_name, last_name
            user.password = password_hash
            user.is_staff, user.is_active, user.is_superuser = True, True, False
            user.save()
            user.groups.set([Group.objects.get(name=role)])
            logins.append(DemoLogin(username, role, person.email, person.name))
        return logins

    def summary(self, logins: list[DemoLogin]) -> DemoSummary:
        today = self.clock.today
        use_cases = UseCase.objects.all()
        production = use_cases.filter(stage=Stage.PRODUCTION)
        return DemoSummary(
            counts={
                "business units": BusinessUnit.objects.count(),
                "people": Person.objects.count(),
                "people who left": Person.objects.filter(active=False).count(),
                "decisions": Decision.objects.count(),
                "use cases": use_cases.count(),
                "stage transitions": StageTransition.objects.count(),
                "KPIs": KPI.objects.count(),
                "KPI observations": KPIObservation.objects.count(),
            },
            use_cases_by_stage=dict(use_cases.order_by("stage").values_list("stage").annotate(count=models.Count("pk"))),
            situations={
                "pilots in their stage for more than 90 days": use_cases.filter(
                    stage=Stage.PILOT, stage_entered_on__lt=today - datetime.timedelta(days=90)).count(),
                "duplicate families planted": self.families_planted,
                "use cases owned by people who left": use_cases.filter(
                    Q(business_owner__active=False) | Q(technical_owner__active=False)).count(),
                "decisions owned by people who left": Decision.objects.filter(owner__active=False).count(),
                "decisions with ownership unconfirmed for more than 180 days": Decision.objects.filter(
                    owner_confirmed_on__lt=today - datetime.timedelta(days=180)).count(),
                "production use cases without a technical owner": production.filter(technical_owner__isnull=True).count(),
                "production use cases with no KPI observation in 90 days": production.exclude(
                    kpis__observations__observed_on__gte=today - datetime.timedelta(days=90)).count(),
            },
            logins=logins,
        )


def seed_demo_portfolio(
    *,
    use_cases: int,
    seed: int,
    today: datetime.date,
    progress: Callable[[int], None] | None = None,
    reset: bool = False,
) -> DemoSummary:
    """Fill the registry with a demo portfolio of `use_cases` use cases; all or nothing.

    Refuses (RegistryNotEmpty) when the registry already holds data, unless `reset`, which
    first deletes it. `progress` is called with the number of use cases each time a chunk
    is written.
    """
    if use_cases < 1:
        raise ValueError("A demo portfolio needs at least one use case.")
    with transaction.atomic():
        make_room_for_demo(reset=reset)
        builder = _PortfolioBuilder(use_cases=use_cases, seed=seed, today=today, progress=progress)
        builder.create_units()
        builder.create_people(max(100, use_cases // 3))
        builder.write_all_use_cases()
        builder.record_leaving()
        logins = builder.create_logins()
        return builder.summary(logins)
