"""Text of the English sample documents, page by page."""

TRAVEL_PDF = [
    # page 1
    "Yunfan Technology Business Travel Policy\n"
    "1. Purpose and scope\n"
    "This policy applies to all employees and contractors who travel on company business. "
    "It explains how trips are approved, how tickets and hotels are booked, and how expenses are reimbursed. "
    "Managers are responsible for making sure their teams follow it.\n"
    "2. Trip approval\n"
    "Every trip must be approved in the travel portal before any booking is made. Trips longer than five "
    "working days, and all international trips, additionally need approval from a department director.",
    # page 2
    "3. Booking flights and hotels\n"
    "Book through the company travel agency whenever possible. Economy class is the standard for flights "
    "under six hours; for longer flights employees may book premium economy or business class. "
    "Tickets should be purchased at least 14 days before departure to obtain lower fares.\n"
    "Hotel rooms are capped at 180 US dollars per night in major cities and 120 US dollars elsewhere. "
    "Upgrades, minibar charges and in-room movies are personal expenses.",
    # page 3
    "4. Per diem and receipts\n"
    "A daily allowance covers meals and incidental costs: 75 US dollars per day for domestic travel and "
    "120 US dollars per day for international travel. Alcohol is never reimbursed.\n"
    "Original receipts are required for every single expense above 25 dollars. Lost receipts must be "
    "replaced by a signed missing-receipt declaration.\n"
    "5. Submitting expenses\n"
    "Expense reports must be filed within 30 days after the trip ends. Reports submitted late are "
    "rejected unless the finance director grants an exception. Reimbursement is paid with the next payroll.",
]

REMOTE_MD = """# Remote Work Guidelines

## Eligibility

Employees who have completed their probation period may work remotely up to two days per week,
subject to their manager's approval. New hires work from the office during probation.

## Equipment

The company provides a laptop and a monitor. A one-time home office allowance of 300 dollars can be
claimed for a chair or desk within the first three months of remote work.

## Availability

Remote employees must be reachable on the company chat between 10:00 and 16:00 local time and keep
their calendar up to date. Video must be switched on for team meetings.

## Security

Always connect through the company VPN before opening internal systems, and never work on confidential
documents in public places such as cafés or trains.
"""
