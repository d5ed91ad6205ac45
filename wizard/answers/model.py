"""The answers model: what the admin tells the wizard, typed and checked field by field.

Checks that need the pattern (roles, counts, options) or several fields at once live in
:mod:`wizard.answers.rules`. Secrets are references only (``env:NAME``, ``file:PATH``,
``prompt``); a literal is refused.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from wizard.answers.ports import HAZELCAST_DEFAULT_PORT, MAX_OFFSET
from wizard.secrets import REF_SYNTAX, is_reference

FIX = "\x00fix:"  # separates the message from the fix inside a validator's ValueError

_HOSTNAME_RE = re.compile(
    r"^(?=.{1,253}\Z)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\Z"
)
_IDENT_RE = re.compile(r"^[A-Za-z0-9_]{1,64}\Z")
_NODE_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,31}\Z")


def _address(value: str) -> str:
    v = value.strip()
    try:
        ipaddress.ip_address(v)
        return v
    except ValueError:
        pass
    if _HOSTNAME_RE.match(v) and not re.fullmatch(r"[0-9.]+", v):
        return v
    raise ValueError(
        "not an IP address or host name"
        + FIX
        + "give an address such as 10.0.0.5 or a DNS name such as db1.example.com"
    )


def _secret_ref(value: str) -> str:
    if not is_reference(value):
        raise ValueError(
            "a literal secret is not allowed in an answers file"
            + FIX
            + f"give a reference instead: {REF_SYNTAX} (e.g. env:DB_PASSWORD or file:/root/db.password)"
        )
    return value


def _db_ident(value: str) -> str:
    if not _IDENT_RE.match(value):
        raise ValueError(
            "not a safe database identifier"
            + FIX
            + "use 1-64 letters, digits or _ (pattern ^[A-Za-z0-9_]{1,64}$)"
        )
    return value


def _db_user(value: str) -> str:
    if not _IDENT_RE.match(value) or len(value) > 32:
        raise ValueError("not a safe database user name" + FIX + "use 1-32 letters, digits or _")
    return value


def _node_name(value: str) -> str:
    if not _NODE_NAME_RE.match(value) or value in ("db", "all", "local"):
        raise ValueError(
            "not a valid node name"
            + FIX
            + "use a lower-case name of 1-32 letters, digits or -, starting with a letter "
            "(not db, all or local)"
        )
    return value


def _abs_path(value: str) -> str:
    if not value.startswith("/") or "\x00" in value or "\n" in value:
        raise ValueError("must be an absolute path" + FIX + "give a path starting with /")
    return value.rstrip("/") or "/"


def _path(value: str) -> str:
    if not value or "\x00" in value or "\n" in value:
        raise ValueError("not a usable path" + FIX + "give a file path")
    return value


def _jvm_opt(value: str) -> str:
    if not value.startswith("-") or "\n" in value:
        raise ValueError("a JVM option starts with -" + FIX + "e.g. -Xmx2g")
    return value


Address = Annotated[str, AfterValidator(_address)]
SecretRef = Annotated[str, AfterValidator(_secret_ref)]
DbIdent = Annotated[str, AfterValidator(_db_ident)]
DbUser = Annotated[str, AfterValidator(_db_user)]
NodeName = Annotated[str, AfterValidator(_node_name)]
AbsPath = Annotated[str, AfterValidator(_abs_path)]
FilePath = Annotated[str, AfterValidator(_path)]
JvmOpt = Annotated[str, AfterValidator(_jvm_opt)]
Port = Annotated[int, Field(ge=1, le=65535)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Ssh(_Model):
    """How to reach a host: over SSH (the host key is always verified), or ``local`` for a
    product home on the machine running the wizard (same engine, no SSH)."""

    transport: Literal["ssh", "local"] = Field(
        "ssh", description="local: the product home is on this machine; no login needed"
    )
    port: Port = Field(22, title="SSH port")
    user: str | None = Field(
        None,
        min_length=1,
        max_length=32,
        pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$",
        title="SSH user",
    )
    key: FilePath | None = Field(
        None, title="SSH key file", description="private key file (mode 0600)"
    )
    password: SecretRef | None = Field(
        None,
        title="SSH password",
        description="blank: the key file, or the SSH agent without one",
    )
    host_key: str | None = Field(
        None, description="expected host key 'type base64', else known_hosts is used"
    )
    known_hosts: FilePath | None = None
    sudo: bool = Field(
        False,
        title="sudo for files of another owner",
        description="use sudo for files of another owner and privileged steps (/etc/hosts)",
    )
    sudo_password: SecretRef | None = Field(
        None, title="sudo password", description="blank: sudo must not ask (NOPASSWD)"
    )

    @model_validator(mode="after")
    def _login(self) -> Ssh:
        if self.transport == "ssh" and not self.user:
            raise ValueError("user is required to log in over SSH" + FIX + "set ssh.user")
        return self


class Node(_Model):
    name: NodeName
    role: str
    address: Address = Field(title="address", description="IP address or DNS name")
    ssh: Ssh
    home: AbsPath | None = Field(
        None, title="product home", description="default: the product home (product.home)"
    )
    offset: int | None = Field(
        None, ge=0, le=MAX_OFFSET, title="port offset", description="default: the role's"
    )
    hostname: Address | None = Field(
        None, title="public host name", description="carbon.xml HostName"
    )
    member_host: Address | None = Field(None, description="Hazelcast member host; default address")
    member_port: Port = Field(HAZELCAST_DEFAULT_PORT, title="Hazelcast port")
    hosts_file: AbsPath | None = Field(
        None, description="hosts file for the managed block; default product.hosts_file"
    )


class DbTls(_Model):
    mode: Literal["disabled", "preferred", "required", "verify"] = Field(
        "disabled", title="Database TLS"
    )
    ca: FilePath | None = Field(None, title="Database CA file (for verify)")


class Database(_Model):
    name: DbIdent
    user: DbUser | None = Field(None, description="default db.user")
    password: SecretRef | None = Field(None, description="default db.password")


class Db(_Model):
    host: Address = Field(title="MySQL server address")
    port: Port = Field(3306, title="MySQL port")
    admin_user: DbUser = Field("root", title="Admin user")
    admin_password: SecretRef = Field(
        title="Admin password",
        description="env:NAME, file:PATH, prompt, or type it (kept in memory only)",
    )
    tls: DbTls = DbTls()
    user: DbUser = Field(title="Application user")
    password: SecretRef = Field(title="Application user's password")
    user_hosts: list[Annotated[str, AfterValidator(_address)] | Literal["%"]] | None = Field(
        None, description="hosts the app user may connect from; default node addresses"
    )
    charset: Literal["latin1", "utf8", "utf8mb4"] = "latin1"
    script_variant: Literal["auto", "mysql", "mysql5.7"] = "auto"
    host_alias: Address | None = None
    ip: Address | None = None
    databases: dict[str, Database] = Field(
        default_factory=dict, description="database key -> name (default: the pattern's)"
    )


class Product(_Model):
    version: str = Field(title="Product version")
    home: AbsPath = Field(title="Product home on the hosts", description="e.g. /opt/wso2am-2.6.0")
    java_home: AbsPath | None = Field(None, title="JAVA_HOME on the hosts")
    driver_jar: FilePath | None = Field(None, title="JDBC driver jar (local path)")
    pack: FilePath | None = Field(
        None,
        title="Product pack zip (local path)",
        description="e.g. wso2am-2.6.0.zip on this machine: uploaded once to each node whose "
        "home is missing, sha256-checked and unpacked there (its one top folder becomes the "
        "home); blank: the homes are unpacked already",
    )
    driver_class: Literal["com.mysql.jdbc.Driver", "com.mysql.cj.jdbc.Driver"] = (
        "com.mysql.jdbc.Driver"
    )
    hosts_file: AbsPath = Field("/etc/hosts", description="where host name entries go")
    secure_vault: bool = Field(
        False,
        title="Encrypt passwords in product files (Secure Vault)",
        description="datasource, keystore and admin passwords become aliases, encrypted "
        "with the primary keystore like ciphertool.sh -Dconfigure; each start reads the "
        "keystore password from password-tmp",
    )


class Lb(_Model):
    name: NodeName = "lb"
    address: Address = Field(title="address", description="the NGINX host")
    ssh: Ssh
    hostname: Address = Field(
        title="Public host name (served by NGINX)",
        description="public host name served by the load balancer",
    )
    hostnames: dict[str, Address] = Field(
        default_factory=dict, description="role -> public host name (distributed)"
    )
    ip: Address | None = Field(None, description="address clients use; default address")
    https_port: Port = Field(443, title="NGINX HTTPS port")
    http_port: Port = Field(80, title="NGINX HTTP port")
    ssl_dir: AbsPath = "/etc/nginx/ssl"
    cert_name: str = Field("carbon-wizard.crt", pattern=r"^[A-Za-z0-9_.-]+$")
    key_name: str = Field("carbon-wizard.key", pattern=r"^[A-Za-z0-9_.-]+$")
    conf_dir: AbsPath | None = Field(None, description="default: from nginx -V")
    command: FilePath = "nginx"
    issuer: Literal["self", "ca"] = Field(
        "self", description="self-signed LB certificate, or issued by a CA the wizard keeps"
    )
    cert_file: FilePath | None = Field(
        None, description="your own LB certificate (PEM, on this machine) instead of one made"
    )
    key_file: FilePath | None = Field(None, description="its private key (PEM, unencrypted)")
    listen_address: Address | None = Field(None, description="address NGINX listens on")
    redirect_http: bool = Field(False, description="port 80 redirects to HTTPS only")

    @model_validator(mode="after")
    def _cert_pair(self) -> Lb:
        if bool(self.cert_file) != bool(self.key_file):
            raise ValueError("give both lb.cert_file and lb.key_file, or neither")
        return self


class Admin(_Model):
    user: str = Field(
        "admin",
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.@-]+$",
        title="Carbon admin user",
    )
    password: SecretRef = Field(title="Carbon admin password")


class Keystore(_Model):
    replace: bool = Field(False, title="Make a new keystore", description="else keep stock")
    file: str = Field("wso2carbon.jks", pattern=r"^[A-Za-z0-9_.-]+\.jks$")
    alias: str = Field("wso2carbon", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    password: SecretRef | None = Field(None, title="Keystore password")
    key_password: SecretRef | None = Field(None, title="Key password")
    cn: Address | None = None
    days: int = Field(825, ge=1, le=36500)


class Truststore(_Model):
    file: str = Field("client-truststore.jks", pattern=r"^[A-Za-z0-9_.-]+\.jks$")
    password: SecretRef | None = Field(None, title="Client truststore password")


class Cluster(_Model):
    enabled: bool = Field(True, title="Hazelcast clustering")
    domain: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]{1,128}$", title="Cluster domain")


class Sync(_Model):
    enabled: bool = Field(True, title="Sync deployed artifacts (rsync)")
    user: str | None = Field(None, title="Sync SSH user", description="default: node's SSH user")
    key: FilePath | None = Field(None, title="Sync SSH key file")
    dir: AbsPath | None = Field(None, title="Sync directory", description="default: under the home")


class Start(_Model):
    setup_flag: bool = Field(False, title="First start with -Dsetup")
    jvm_opts: list[JvmOpt] = Field(
        default_factory=list, title="JVM options", description="e.g. -Xms1g -Xmx2g"
    )
    timeout: int = Field(
        600,
        ge=10,
        le=7200,
        title="Start timeout per node (s)",
        description="seconds per node to become ready",
    )


OptionValue = str | int | bool | list[str]


class Answers(_Model):
    """A whole answers file."""

    pattern: str
    product: Product
    db: Db
    nodes: list[Node] = Field(min_length=1)
    lb: Lb | None = None
    admin: Admin
    keystore: Keystore = Keystore()
    truststore: Truststore = Truststore()
    cluster: Cluster = Cluster()
    sync: Sync = Sync()
    start: Start = Start()
    options: dict[str, OptionValue] = Field(default_factory=dict)


SECRET_FIELDS = frozenset({"password", "admin_password", "key_password", "sudo_password"})


def schema() -> dict[str, Any]:
    return Answers.model_json_schema()
