"""Invite the patient to check in online: a link to set their password, sent by e-mail or
text to the contact on record (:func:`data.notify.invitations.invite_patient`).

The message is queued with its link and sent by the worker; it carries nothing clinical.
"""

from __future__ import annotations

import streamlit as st

from dashboard import resources
from dashboard.plain import literal
from data.access import Actor
from data.errors import AccessDenied, InvalidInput
from data.notify.invitations import invite_patient

CHANNELS = {"email": "E-mail", "sms": "Text message"}


def show_invitation(actor: Actor, patient_id: int) -> None:
    """A small section: choose the channel, send the invitation, say where it went."""
    with st.expander("Invite to check in online"):
        st.markdown(
            "Sends the patient a link to set their own password (valid for 7 days; a new "
            "invitation replaces the last). The message names the clinic only."
        )
        channel = st.radio(
            "Send by",
            list(CHANNELS),
            format_func=CHANNELS.__getitem__,
            horizontal=True,
            key=f"invite_channel_{patient_id}",
        )
        if not st.button("Send invitation", key=f"invite_send_{patient_id}"):
            return
        try:
            with resources.session_scope(write=True) as session:
                sent = invite_patient(session, actor=actor, patient_id=patient_id, channel=channel)
        except InvalidInput as refused:
            st.error("Not sent: " + literal("; ".join(refused.problems)))
            return
        except AccessDenied as denied:
            st.error(f"Not sent: {literal(denied)}")
            return
        st.success(
            f"Invitation queued to {literal(sent.recipient)}; the message worker sends it on "
            "its next pass."
        )
