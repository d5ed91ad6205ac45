#!/bin/bash
# ---------------------------------------------------------------------------
#  Fake WSO2 API Manager 2.6.0 profileSetup.sh (carbon-wizard lab).
#
#  Same interface as the real bin/profileSetup.sh, which wso2server.sh runs with
#  "sh profileSetup.sh -Dprofile=NAME" when it is given --optimize: it disables the
#  api-manager.xml publishers, comments out the axis2.xml ws/wss senders, turns off
#  registry indexing and deletes the synapse configs, webapps and Jaggery apps the
#  profile does not need (bin/fakecarbon_profile.py; it needs xmllint like the real one).
# ---------------------------------------------------------------------------
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=python3
exec "$PYTHON" "$(dirname "$0")/fakecarbon_profile.py" "$@"
