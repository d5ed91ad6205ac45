"""The shape of a pattern file (see FORMAT.md). Unknown keys are errors."""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

EditOp = Literal[
    "set",
    "attr",
    "ins",
    "upsert",
    "add",
    "repl",
    "verify",
    "expect",
    "json",
    "prop",
    "hosts",
    "replace_text",
]
EDIT_OPS: tuple[str, ...] = get_args(EditOp)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class CountRange(_Model):
    min: int = Field(ge=0)
    max: int = Field(ge=1)


class Role(_Model):
    label: str
    kind: Literal["node", "lb"] = "node"
    count: int | CountRange = 1
    offset: int = Field(0, ge=0)
    profile: str | None = None
    ready: list[str] = Field(default_factory=lambda: ["https"])
    console: bool = True
    cluster: bool = True  # nodes of this role are Hazelcast members (when clustering is on)
    # what carbon.xml (Name Version) of a home of this role may say; empty: the pattern's
    # product, "WSO2 API Manager {{ product.version }}"
    products: list[str] = Field(default_factory=list)

    @property
    def min(self) -> int:
        return self.count if isinstance(self.count, int) else self.count.min

    @property
    def max(self) -> int:
        return self.count if isinstance(self.count, int) else self.count.max


class DatabaseSpec(_Model):
    name: str
    script: str | None = None
    scripts: dict[str, str | None] = Field(default_factory=dict)
    markers: list[str] = Field(default_factory=list)
    ds_name: str | None = None
    jndi: str | None = None
    roles: list[str]
    rows: list[str] = Field(default_factory=list)
    when: str | None = None

    def script_for(self, version: str) -> str | None:
        return self.scripts.get(version, self.script) if self.scripts else self.script


class StepRows(_Model):
    rows: list[str] = Field(default_factory=list)
    roles: list[str] = Field(default_factory=lambda: ["all"])
    when: str | None = None


class RefSpec(_Model):
    """An edit whose value is the JNDI name of a database: the element it sets names a
    datasource today, which the planner reads to place that database (wizard/dslayout)."""

    db: str  # database key (a template)
    at: str | None = None  # XPath of the element naming the datasource; default: locator


class PackDataSource(_Model):
    """A datasource a stock pack ships (assumed by an offline plan)."""

    file: str
    name: str
    jndi: str
    url: str = ""


class Edit(_Model):
    rows: list[str] = Field(default_factory=list)
    roles: list[str] = Field(default_factory=lambda: ["all"])
    file: str
    op: EditOp
    locator: str | None = None
    value: Any = None
    attr: str | None = None
    parent: str | None = None
    match: str | None = None
    after: str | None = None
    create_from: str | None = None
    secret: bool = False
    optional: bool = (
        False  # set/attr/verify: a locator that finds nothing is reported, not an error
    )
    when: str | None = None
    description: str | None = None
    ref: RefSpec | None = None
    # set by macro expansion: the macro's parameters (``p`` in expressions) and name
    params: dict[str, Any] = Field(default_factory=dict)
    macro: str | None = None


class MacroUse(_Model):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    rows: list[str] = Field(default_factory=list)
    roles: list[str] = Field(default_factory=lambda: ["all"])
    use: str
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")
    parts: dict[str, list[str]] = Field(default_factory=dict)  # macro edit part -> its rows
    when: str | None = None


class Macro(_Model):
    description: str = ""
    params: dict[str, Any] = Field(default_factory=dict)
    edits: list[dict[str, Any]]


class Certificate(_Model):
    id: str = Field(pattern=r"^[a-z0-9-]+$")
    kind: Literal["lb_cert", "keystore"]
    rows: list[str] = Field(default_factory=list)
    cn: str | None = None
    san: list[str] = Field(default_factory=list)
    when: str | None = None


class Trust(_Model):
    rows: list[str] = Field(default_factory=list)
    roles: list[str] = Field(default_factory=lambda: ["all"])
    cert: str
    alias: str
    copy_keystore: bool = False
    when: str | None = None


class Symlink(_Model):
    rows: list[str] = Field(default_factory=list)
    roles: list[str] = Field(default_factory=lambda: ["all"])
    path: str
    target: str
    move_existing: Literal["first", "none"] = "first"
    when: str | None = None


class SyncSpec(_Model):
    rows: list[str] = Field(default_factory=list)
    source: str
    workers: list[str]
    path: str
    exclude: list[str] = Field(default_factory=list)
    when: str | None = None


class UpstreamServer(_Model):
    role: str
    port: str
    backup: bool = False


class Upstream(_Model):
    name: str = Field(pattern=r"^[A-Za-z0-9_-]+$")
    sticky: bool = False
    servers: list[UpstreamServer]


class LoadBalancer(_Model):
    rows: list[str] = Field(default_factory=list)
    template: str
    upstreams: list[Upstream]
    data: dict[str, Any] = Field(default_factory=dict)


class StartGroup(_Model):
    rows: list[str] = Field(default_factory=list)
    roles: list[str] = Field(default_factory=list)
    lb: bool = False
    probe: str | None = None  # URL that must answer (HTTP status < 500), checked from the lb
    restart: bool = False  # the nodes may be running: restart instead of start
    members: int | None = None
    when: str | None = None

    @model_validator(mode="after")
    def _one_of(self) -> StartGroup:
        if sum((self.lb, bool(self.roles), self.probe is not None)) != 1:
            raise ValueError("a start group has exactly one of: roles, lb: true, probe")
        return self


class OptionSpec(_Model):
    type: Literal["str", "int", "bool", "list"] = "str"
    default: Any = None
    required: bool = False
    help: str = ""
    example: Any = None  # shown by `answers example` (default: the default)


class ClusterDefaults(_Model):
    enabled: bool = True
    domain: str = "wso2.carbon.domain"


class Pattern(_Model):
    id: str = Field(pattern=r"^[a-z0-9-]+$")
    title: str
    description: str
    guide: str = ""
    prefix: str
    versions: list[str] = Field(min_length=1)
    options: dict[str, OptionSpec] = Field(default_factory=dict)
    cluster: ClusterDefaults = ClusterDefaults()
    roles: dict[str, Role]
    databases: dict[str, DatabaseSpec] = Field(default_factory=dict)
    db_rows: list[str] = Field(default_factory=list)
    preflight: StepRows | None = None
    driver: StepRows | None = None
    edits: list[Edit] = Field(default_factory=list)
    certificates: list[Certificate] = Field(default_factory=list)
    trust: list[Trust] = Field(default_factory=list)
    symlinks: list[Symlink] = Field(default_factory=list)
    sync: SyncSpec | None = None
    loadbalancer: LoadBalancer | None = None
    start: list[StartGroup] = Field(default_factory=list)
    rows_covered_elsewhere: dict[str, str] = Field(default_factory=dict)
    # datasources of the pack beyond the stock API-M ones of common.yaml (offline plans)
    pack_datasources: list[PackDataSource] = Field(default_factory=list)

    @property
    def node_roles(self) -> list[str]:
        return [r for r, spec in self.roles.items() if spec.kind == "node"]

    @property
    def lb_role(self) -> str | None:
        return next((r for r, spec in self.roles.items() if spec.kind == "lb"), None)

    def node_count_text(self) -> str:
        lo = sum(self.roles[r].min for r in self.node_roles)
        hi = sum(self.roles[r].max for r in self.node_roles)
        extra = " + lb" if self.lb_role else ""
        return (f"{lo}" if lo == hi else f"{lo}-{hi}") + extra

    def all_rows(self) -> set[str]:
        rows: set[str] = set(self.db_rows)
        for group in (self.preflight, self.driver, self.sync, self.loadbalancer):
            if group is not None:
                rows.update(group.rows)
        for items in (self.edits, self.certificates, self.trust, self.symlinks, self.start):
            for item in items:
                rows.update(item.rows)
        for db in self.databases.values():
            rows.update(db.rows)
        return rows
