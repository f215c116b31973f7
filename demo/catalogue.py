"""What the demo portfolio is made of: business units, their decisions, KPIs and use cases,
the families of near-duplicate use cases, names, shared mailboxes and the words of stage
moves. Pure data: nothing here touches the database or draws a random number.
"""

from __future__ import annotations

from dataclasses import dataclass

from registry.models import DecisionMethod, Frequency, KPIDirection, Stage

DEMO_DOMAIN = "meridian.example"

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
