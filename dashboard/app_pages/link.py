"""The page a one-tap link from a message opens, without a password (issue 14).

``/?link=<token>`` (:mod:`dashboard.streamlit_app` routes here while the parameter is set):
a check-in link shows that check-in's form and then a thank-you; an invitation, the form to
set a password; an opt-out link, one button that stops reminders. A link that does not open
(used, expired, withdrawn, forged, a disabled sign-in) gets a plain page saying so. What the
link may do is decided by the data layer (:mod:`data.notify.links`); this page holds only
its token and what it opened.
"""

from __future__ import annotations

import streamlit as st

from dashboard import resources
from dashboard.link_views.checkin import show_link_checkin
from dashboard.link_views.common import OPENED, RESULT, leave_link, show_refused
from dashboard.link_views.invitation import show_invitation
from dashboard.plain import literal
from data.clinic import clinic_config
from data.errors import AccessDenied
from data.notify.links import LINK_PARAMETER, OpenedLink, RefusedLink, open_link, opt_out_by_link

token = str(st.query_params.get(LINK_PARAMETER) or "")
known = st.session_state.setdefault(OPENED, {})
if token not in known:
    # Opened once per browser session (audited); every write checks the link again.
    with resources.session_scope(write=True) as session:
        known[token] = open_link(session, token=token)
opened: OpenedLink | RefusedLink = known[token]

if isinstance(opened, RefusedLink):
    show_refused(opened)
elif opened.purpose == "checkin":
    with resources.session_scope() as session:
        config = clinic_config(session, opened.clinic_id)
    show_link_checkin(opened, config)
elif opened.purpose == "invitation":
    show_invitation(opened, token)
else:
    st.title("Stop reminders", anchor=False)
    channel = {"email": "by e-mail", "sms": "by text message"}.get(opened.channel, "")
    done = st.session_state.get(RESULT)
    if isinstance(done, dict) and done.get("link_id") == opened.link_id:
        st.success(f"Done: you will get no more check-in reminders {channel} from the clinic.")
        st.markdown(
            "Your care team can still reach you, and your check-ins stay open when you sign "
            "in. To receive reminders again, ask the clinic."
        )
        leave_link()
    else:
        st.markdown(
            " ".join(("Press the button to stop check-in reminders", channel)).strip() + "."
        )
        if st.button("Stop reminders", key="link_opt_out", type="primary"):
            try:
                with resources.session_scope(write=True) as session:
                    opt_out_by_link(session, token=token)
            except AccessDenied as denied:
                st.error(literal(denied))
            else:
                st.session_state[RESULT] = {"link_id": opened.link_id}
                st.rerun()
