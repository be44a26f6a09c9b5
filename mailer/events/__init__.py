"""Events (SPEC capabilities 3-4): invitations with a calendar entry, registrations,
reminders, feedback and ratings.

``ical`` writes the iCalendar text, ``invitations`` turns it into one mail per
invitee cheaply, ``spec`` reads the coordinator's form or the CLI's options,
``registry`` keeps registrations and the waitlist, ``schedule`` sends what the
clock says is due and ``summary`` counts what the coordinator reports.
"""
