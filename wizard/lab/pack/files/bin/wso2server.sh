#!/usr/bin/env bash
# ---------------------------------------------------------------------------
#  Fake WSO2 API Manager 2.6.0 start script (carbon-wizard lab).
#
#  Same interface as the real bin/wso2server.sh:
#    wso2server.sh                 run in the foreground
#    wso2server.sh start           run as a daemon (pid in $CARBON_HOME/wso2carbon.pid)
#    wso2server.sh stop|--stop     stop the daemon
#    wso2server.sh restart         stop, wait, start
#  System properties: -DportOffset=N  -Dprofile=NAME  -Dsetup
#  --optimize -Dprofile=NAME   run bin/profileSetup.sh for NAME first (then start)
#
#  Environment:
#    JAVA_HOME  must point at a Java installation (keytool is used from it).
#    CARBON_BIND_ADDRESS, CARBON_NODE_NAME, CARBON_HOSTS_FILE, CARBON_FAKE_BOOT_DELAY,
#    CARBON_FAKE_JOIN_SECONDS, CARBON_FAKE_OSGI_WAIT (lab only).
# ---------------------------------------------------------------------------

PRG="$0"
while [ -h "$PRG" ]; do
  link=$(readlink "$PRG")
  case "$link" in
    /*) PRG="$link" ;;
    *) PRG="$(dirname "$PRG")/$link" ;;
  esac
done
PRGDIR=$(dirname "$PRG")
[ -z "$CARBON_HOME" ] && CARBON_HOME=$(cd "$PRGDIR/.." && pwd)
export CARBON_HOME

if [ -z "$JAVA_HOME" ]; then
  echo "You must set the JAVA_HOME variable before running CARBON."
  exit 1
fi
JAVACMD="$JAVA_HOME/bin/java"
if [ ! -x "$JAVACMD" ]; then
  echo "Error: JAVA_HOME is not defined correctly."
  echo " CARBON cannot execute $JAVACMD"
  exit 1
fi

PIDFILE="$CARBON_HOME/wso2carbon.pid"
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=python3

CMD=""
args=()
for c in "$@"; do
  case "$c" in
    --stop|-stop|stop) CMD="stop" ;;
    --start|-start|start) CMD="start" ;;
    --restart|-restart|restart) CMD="restart" ;;
    --version|-version|version) CMD="version" ;;
    --optimize|-optimize|optimize)
      # as the real script (L159-169): profileSetup.sh rewrites and deletes files now,
      # once per -Dprofile argument; a later start without --optimize does not run it
      for profile in "$@"; do
        case "$profile" in
          *Dprofile=*)
            (cd "$PRGDIR" && sh profileSetup.sh "$profile")
            echo "Starting the server..."
            ;;
        esac
      done
      ;;
    *) args+=("$c") ;;
  esac
done

running() {
  # alive and not a zombie waiting to be reaped (containers' init may reap late)
  [ -e "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null \
    && ! grep -qs '^State:[[:space:]]*Z' "/proc/$(cat "$PIDFILE")/status"
}

stop_server() {
  if [ ! -e "$PIDFILE" ]; then
    echo "No pid file at $PIDFILE; the server is not running."
    return 0
  fi
  kill -TERM "$(cat "$PIDFILE")" 2>/dev/null
  return 0
}

start_daemon() {
  mkdir -p "$CARBON_HOME/repository/logs"
  # Carbon logs to repository/logs/wso2carbon.log itself; stray errors land there too.
  nohup "$PYTHON" "$CARBON_HOME/bin/fakecarbon.py" "${args[@]}" \
    > /dev/null 2>> "$CARBON_HOME/repository/logs/wso2carbon.log" < /dev/null &
}

case "$CMD" in
  start)
    if running; then
      echo "Process is already running"
      exit 0
    fi
    start_daemon
    exit 0
    ;;
  stop)
    stop_server
    exit 0
    ;;
  restart)
    if running; then
      pid=$(cat "$PIDFILE")
      stop_server
      while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
    fi
    start_daemon
    exit 0
    ;;
  version)
    echo "WSO2 API Manager 2.6.0"
    exit 0
    ;;
esac

echo "JAVA_HOME environment variable is set to $JAVA_HOME"
echo "CARBON_HOME environment variable is set to $CARBON_HOME"
export FAKECARBON_ECHO=1
exec "$PYTHON" "$CARBON_HOME/bin/fakecarbon.py" "${args[@]}"
