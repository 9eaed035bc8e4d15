"""Policy files: the legal parameters of the model, as data (SPEC §3)."""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from fluxopt.i18n import N_, _
from fluxopt.problems import PolicyError, Problem, closest, shown

#: Réservataire types of SPEC §2.
TYPES = (
    "prefet",
    "prefet_agents",
    "action_logement",
    "commune",
    "epci",
    "departement",
    "region",
    "autre",
)
#: Types whose flux share is one uniform rate per bailleur when ``prefet.uniforme``.
PREFET_TYPES = ("prefet", "prefet_agents")
#: Lexicographic stages of SPEC §4.
STAGES = ("ecart_cil", "ecart_max", "ecart_total", "regularite")
METHODS = ("rotation", "stock", "attributions")
DEFAULT_POLICY = "elan-2020"


def _real(low: float, high: float) -> Callable[[Any], str | None]:
    """The check of a policy number: an int or float (not a boolean), finite, in [low, high]."""

    def check(v: Any) -> str | None:
        ok = not isinstance(v, bool) and isinstance(v, (int, float)) and math.isfinite(v) and low <= v <= high
        return None if ok else _("must be a number between {minimum} and {maximum}").format(
            minimum=f"{low:g}", maximum=f"{high:g}")

    return check


_fraction = _real(0, 1)


def _boolean(v: Any) -> str | None:
    return None if isinstance(v, bool) else _("must be true or false")


def _method(v: Any) -> str | None:
    return None if v in METHODS else _("must be one of {choix}").format(choix=", ".join(METHODS))


def _interval(v: Any) -> str | None:
    ok = (
        isinstance(v, (list, tuple))
        and len(v) == 2
        and all(_fraction(x) is None for x in v)
        and v[0] <= v[1]
    )
    return None if ok else _("must be [min, max] with 0 <= min <= max <= 1")


def _order(v: Any) -> str | None:
    ok = (
        isinstance(v, (list, tuple))
        and len(v) > 0
        and all(isinstance(s, str) for s in v)
        and len(set(v)) == len(v)
        and all(s in STAGES for s in v)
    )
    return None if ok else _("must be a list of distinct stages among {etapes}").format(
        etapes=", ".join(STAGES))


#: Largest stage tolerance: a looser one would let a later stage undo an earlier optimum.
MAX_TOLERANCE = 0.1


#: Value of ``prefet.cible`` that keeps the préfet at its stock equivalence.
EQUIVALENCE = "equivalence"


def _target(v: Any) -> str | None:
    return None if v == EQUIVALENCE or _fraction(v) is None else \
        _('must be "{equivalence}" or a rate between 0 and 1 (e.g. 0.30)').format(equivalence=EQUIVALENCE)


#: Every key a policy may hold, with its check. All keys except optional caps are required.
SCHEMA: dict[str, Any] = {
    "equivalence.methode": _method,
    **{f"plafonds.{t}": _fraction for t in TYPES},
    "prefet.uniforme": _boolean,
    "prefet.cible": _target,
    "defaut.vers_prefet": _boolean,
    "equilibre.tolerance_qpv": _fraction,
    "cil.part_q1_hors_qpv": _fraction,
    "cil.part_autres_qpv": _fraction,
    "cil.strict": _boolean,
    "cil.relogements_q1": _boolean,
    "report.part": _fraction,
    "report.plafond": _real(0, 10),
    **{f"comportement.{t}": _interval for t in (*TYPES, "bailleur")},
    "prioritaires.part_min": _fraction,
    "objectif.ordre": _order,
    "objectif.tolerance": _real(0, MAX_TOLERANCE),
}
OPTIONAL = {f"plafonds.{t}" for t in TYPES}


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested TOML tables to dotted keys: {'cil': {'strict': True}} -> {'cil.strict': True}."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat


#: Where each policy value comes from, in short (models/elan-2020.toml holds the full comments): the
#: workbook's and the report's source column. A key without its own entry takes its section's.
SOURCES = {
    "equivalence.methode": N_("practice (décret n° 2020-145 asks for equivalent rights; the method is not set by law)"),
    "plafonds.prefet": N_("CCH R441-5 as amended by décret n° 2020-145 (article to verify)"),
    "plafonds.prefet_agents": N_("CCH R441-5 as amended by décret n° 2020-145 (article to verify)"),
    "prefet.uniforme": N_("décret n° 2020-145 (article to verify)"),
    "prefet.cible": N_("ministerial guidance: tend towards 30 % (reference to verify); a scenario, not an obligation"),
    "defaut.vers_prefet": N_("loi n° 2022-217 « 3DS », deadline 24 Nov 2023 (to verify)"),
    "equilibre.tolerance_qpv": N_("local practice, not law"),
    "cil.part_q1_hors_qpv": N_("CCH L441-1 (loi Égalité et citoyenneté, art. 70)"),
    "cil.part_autres_qpv": N_("CCH L441-1 (loi Égalité et citoyenneté, art. 70)"),
    "cil.relogements_q1": N_("CCH L441-1 (NPNRU and ORCOD rehousing)"),
    "cil.strict": N_("fluxopt choice, not law"),
    "comportement": N_("observed practice, not law"),
    "report.part": N_("CCH R441-5-1 (annual bilan); share: fluxopt practice"),
    "report.plafond": N_("CCH R441-5-1 (annual bilan); cap: fluxopt practice"),
    "prioritaires.part_min": N_("CCH L441-1"),
    "objectif.ordre": N_("fluxopt practice (models/FORMULATION.md)"),
    "objectif.tolerance": N_("fluxopt practice (models/FORMULATION.md)"),
    "plafonds": N_("local agreement"),
}


def source_of(key: str) -> str:
    """The source of a policy key (an untranslated message; '' when none is known)."""
    return SOURCES.get(key) or SOURCES.get(key.split(".", 1)[0], "")


def check_values(values: Mapping[str, Any], source: str) -> list[Problem]:
    """Problems of dotted policy values: unknown keys (with the closest known one) and bad values."""
    problems = []
    for key, value in values.items():
        check = SCHEMA.get(key)
        if check is None:
            problems.append(Problem.coded(source, None, key, "cle_politique_inconnue",
                                          _("unknown policy key '{cle}'"), {"cle": key}, suffix=closest(key, SCHEMA)))
        elif (msg := check(value)) is not None:
            problems.append(Problem.coded(source, None, key, "valeur_politique_invalide",
                                          _("'{cle}' {regle}, not {valeur}"),
                                          {"cle": key, "regle": msg, "valeur": shown(value)}))
    return problems


@dataclass(frozen=True)
class Policy:
    """A validated policy: dotted keys to values, with typed accessors."""

    name: str
    source: str
    values: Mapping[str, Any] = field(repr=False)

    @property
    def methode(self) -> str:
        return self.values["equivalence.methode"]

    @property
    def plafonds(self) -> dict[str, float]:
        """Cap per cap key (a type; 'prefet' covers prefet and prefet_agents)."""
        return {k.split(".", 1)[1]: v for k, v in self.values.items() if k.startswith("plafonds.")}

    @property
    def uniforme(self) -> bool:
        return self.values["prefet.uniforme"]

    @property
    def prefet_cible(self) -> float | None:
        """The préfet's target rate of F_b (``prefet.cible``), or None for stock equivalence."""
        value = self.values["prefet.cible"]
        return None if value == EQUIVALENCE else float(value)

    @property
    def vers_prefet(self) -> bool:
        """Whether the targets of a réservataire without a signed convention move to the préfet."""
        return self.values["defaut.vers_prefet"]

    @property
    def relogements_q1(self) -> bool:
        """Whether rehousing outside QPV counts towards the CIL Q1 target."""
        return self.values["cil.relogements_q1"]

    @property
    def tolerance_qpv(self) -> float:
        return self.values["equilibre.tolerance_qpv"]

    @property
    def part_q1_hors_qpv(self) -> float:
        return self.values["cil.part_q1_hors_qpv"]

    @property
    def part_autres_qpv(self) -> float:
        return self.values["cil.part_autres_qpv"]

    @property
    def strict(self) -> bool:
        return self.values["cil.strict"]

    def comportement(self, holder_type: str) -> tuple[float, float]:
        """[min, max] Q1 share of a réservataire type or of 'bailleur'."""
        lo, hi = self.values[f"comportement.{holder_type}"]
        return float(lo), float(hi)

    @property
    def part_min_prioritaires(self) -> float:
        return self.values["prioritaires.part_min"]

    @property
    def ordre(self) -> tuple[str, ...]:
        return tuple(self.values["objectif.ordre"])

    @property
    def tolerance(self) -> float:
        return self.values["objectif.tolerance"]

    def with_overrides(self, overrides: Mapping[str, Any] | None, source: str = "overrides") -> "Policy":
        """A copy with dotted (or nested) overrides applied and validated."""
        if not overrides:
            return self
        if not isinstance(overrides, Mapping):
            raise PolicyError([Problem.coded(source, None, None, "surcharges_invalides",
                                             _("policy overrides must be a mapping of dotted keys to values "
                                               "({{'plafonds.prefet': 0.25}}), not {valeur}"),
                                             {"valeur": shown(overrides)})])
        flat = flatten(overrides)
        problems = check_values(flat, source)
        if problems:
            raise PolicyError(problems)
        return Policy(self.name, self.source, {**self.values, **flat})

    def to_dict(self) -> dict[str, Any]:
        """The values, dotted keys in a stable order (for summaries)."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in sorted(self.values.items())}


def policy_dirs() -> list[Path]:
    """Where named policies live: the installed package data, then the source tree's models/."""
    dirs = []
    packaged = Path(__file__).resolve().parent / "models"
    if packaged.is_dir():
        dirs.append(packaged)
    repo = Path(__file__).resolve().parents[2] / "models"
    if repo.is_dir():
        dirs.append(repo)
    return dirs


def available_policies() -> list[str]:
    """Names of the bundled policies."""
    return sorted({p.stem for d in policy_dirs() for p in d.glob("*.toml")})


def _resolve(name_or_path: str | Path, base: Path | None) -> Path:
    try:
        return _find(name_or_path, base)
    except OSError as exc:  # a name too long for the file system, a folder that cannot be read
        raise PolicyError([Problem.coded("politique", None, None, "politique_illisible",
                                         _("policy {politique} cannot be read ({erreur})"),
                                         {"politique": shown(str(name_or_path)),
                                          "erreur": exc.strerror or type(exc).__name__})]) from None


def _find(name_or_path: str | Path, base: Path | None) -> Path:
    text = str(name_or_path)
    if text.endswith(".toml") or "/" in text or "\\" in text:
        path = Path(text)
        if not path.is_absolute() and base is not None and (base / path).exists():
            path = base / path
        if path.is_file():
            return path
        raise PolicyError([Problem.coded("politique", None, None, "politique_introuvable",
                                         _("policy file '{politique}' not found"), {"politique": text})])
    for d in policy_dirs():
        if (d / f"{text}.toml").is_file():
            return d / f"{text}.toml"
    known = available_policies()
    raise PolicyError(
        [
            Problem(
                "politique",
                None,
                None,
                _("unknown policy '{politique}'").format(politique=text) + closest(text, known)
                + _("; known policies: {connues}").format(connues=", ".join(known)),
                code="politique_inconnue",
                params={"politique": text, "connues": ", ".join(known)},
            )
        ]
    )


def load_policy(
    name_or_path: str | Path = DEFAULT_POLICY,
    overrides: Mapping[str, Any] | None = None,
    *,
    base: Path | None = None,
) -> Policy:
    """Load a policy by name (a file of ``models/``) or path, then apply ``overrides``.

    Raises :class:`PolicyError` listing every unknown key and bad value.
    """
    path = _resolve(name_or_path, base)
    try:
        values = flatten(tomllib.loads(path.read_text(encoding="utf-8")))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError, OSError) as exc:
        raise PolicyError([Problem.coded(path.name, None, None, "toml_invalide", _("not a valid TOML file: {erreur}"),
                                         {"erreur": str(exc) or type(exc).__name__})]) from None
    problems = check_values(values, path.name)
    missing = sorted(set(SCHEMA) - OPTIONAL - set(values))
    problems += [Problem.coded(path.name, None, k, "cle_politique_manquante",
                               _("required policy key '{cle}' is missing"), {"cle": k}) for k in missing]
    if problems:
        raise PolicyError(problems)
    return Policy(path.stem, str(path), values).with_overrides(overrides)


def resolve_policy(
    base: str | Path | Policy,
    surcharges: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    base_dir: Path | None = None,
) -> Policy:
    """The one place where a policy is composed: ``base`` (a Policy, a name in ``models/`` or a
    path), then an instance's ``[surcharges]``, then the caller's ``overrides`` (``--set``).

    Raises :class:`PolicyError` listing every unknown key and bad value.
    """
    policy = base if isinstance(base, Policy) else load_policy(base, base=base_dir)
    return policy.with_overrides(surcharges, "surcharges").with_overrides(overrides)


def parse_assignment(text: str) -> tuple[str, Any]:
    """Parse a command-line 'key=value' (value as TOML, else as a bare string)."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise PolicyError([Problem.coded("--set", None, None, "affectation_invalide",
                                         _("'{texte}' is not of the form key=value"), {"texte": text})])
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except (tomllib.TOMLDecodeError, RecursionError):
        value = raw.strip()
    return key.strip(), value
