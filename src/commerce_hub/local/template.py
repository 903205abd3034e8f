"""template.yaml, read and translated the way CloudFormation's SAM transform would.

The local stack derives all of its wiring from this one template: the tables, queues, bus and rules
the emulator creates, and the functions, routes, queue event sources and schedules the runner serves
itself. Nothing here is a second list of resources.

The SAM transform wants code locations in S3, so every CodeUri/ContentUri is swapped for a
placeholder `s3://<bucket>/<LogicalId>` before translating; the key maps each translated
AWS::Lambda::Function / AWS::Lambda::LayerVersion back to its folder in the project.
"""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import LocalStackError
from .intrinsics import references

__all__ = [
    "EMULATED_TYPES",
    "TEMPLATE_FILE",
    "SamTemplate",
    "find_project_root",
    "load_template",
]

TEMPLATE_FILE = "template.yaml"
PLACEHOLDER_BUCKET = "commerce-hub-local-code"
_GLOBALS_KEY = "Globals"

# What moto's CloudFormation creates faithfully; everything else the runner serves or ignores.
# AWS::Events::Rule is kept only without a ScheduleExpression (moto never fires schedules).
EMULATED_TYPES = frozenset(
    {
        "AWS::DynamoDB::Table",
        "AWS::SQS::Queue",
        "AWS::Events::EventBus",
        "AWS::Events::Archive",
        "AWS::Events::Rule",
        "AWS::Logs::LogGroup",
        "AWS::S3::Bucket",
        "AWS::KMS::Key",
        "AWS::KMS::Alias",
    }
)


def find_project_root(start: Path | None = None) -> Path:
    """The nearest folder, from `start` (default: the current directory) upwards, holding template.yaml."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / TEMPLATE_FILE).is_file():
            return folder
    raise LocalStackError(f"no {TEMPLATE_FILE} in {here} or any folder above it; run from the project or pass --root")


class _NoManagedPolicies:
    """The SAM translator asks for AWS managed policy ARNs; IAM is not emulated, so none are needed."""

    def load(self) -> dict[str, str]:
        return {}


@contextmanager
def _region_for_translator(region: str) -> Iterator[None]:
    # samtranslator finds the partition through boto3's region lookup; give it one, then restore.
    previous = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = previous or region
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("AWS_DEFAULT_REGION", None)


def _placeholder(key: str) -> str:
    return f"s3://{PLACEHOLDER_BUCKET}/{key}"


def _local_folder(root: Path, logical_id: str, uri: Any) -> Path:
    if not isinstance(uri, str) or uri.startswith("s3://"):
        raise LocalStackError(
            f"{logical_id}: the local stack runs code from a project folder; "
            f"its CodeUri/ContentUri is {uri!r}, not a relative path"
        )
    folder = (root / uri).resolve()
    if not folder.is_dir():
        raise LocalStackError(f"{logical_id}: code folder {uri!r} does not exist under {root}")
    return folder


@dataclass
class SamTemplate:
    """The template as written and as translated, plus where each function's code lives."""

    root: Path
    source: dict[str, Any]
    translated: dict[str, Any]
    code_folders: dict[str, Path] = field(default_factory=dict)

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.translated.get("Resources", {})

    def of_type(self, *types: str) -> dict[str, dict[str, Any]]:
        return {lid: res for lid, res in self.resources.items() if res.get("Type") in types}

    def schedule_rules(self) -> dict[str, dict[str, Any]]:
        return {
            lid: res
            for lid, res in self.of_type("AWS::Events::Rule").items()
            if "ScheduleExpression" in res.get("Properties", {})
        }

    def code_folder(self, logical_id: str) -> Path:
        """The project folder of a translated function or layer (its Code/Content placeholder key)."""
        resource = self.resources[logical_id]
        properties = resource.get("Properties", {})
        location = properties.get("Code") or properties.get("Content") or {}
        key = location.get("S3Key") if isinstance(location, dict) else None
        if location.get("S3Bucket") != PLACEHOLDER_BUCKET or key not in self.code_folders:
            raise LocalStackError(
                f"{logical_id}: only functions and layers with a local CodeUri/ContentUri can run locally"
            )
        return self.code_folders[key]

    def layer_python_folder(self, logical_id: str) -> Path:
        """What Lambda would extract to /opt/python for this layer.

        A layer built by SAM (Metadata BuildMethod: python3.x) has its packages at the top of the
        ContentUri folder; a prebuilt layer keeps them under python/.
        """
        folder = self.code_folder(logical_id)
        original = self._original_resource(logical_id)
        build_method = str((original or {}).get("Metadata", {}).get("BuildMethod", ""))
        if not build_method.startswith("python") and (folder / "python").is_dir():
            return folder / "python"
        return folder

    def _original_resource(self, translated_id: str) -> dict[str, Any] | None:
        properties = self.resources[translated_id].get("Properties", {})
        location = properties.get("Code") or properties.get("Content") or {}
        key = location.get("S3Key") if isinstance(location, dict) else None
        return self.source.get("Resources", {}).get(key) if key else None

    def function_of(self, node: Any) -> str | None:
        """The logical id of the function a fragment (an ARN, a name) points at, through aliases."""
        for logical_id in sorted(references(node)):
            resource = self.resources.get(logical_id, {})
            kind = resource.get("Type")
            if kind == "AWS::Lambda::Function":
                return logical_id
            if kind in ("AWS::Lambda::Alias", "AWS::Lambda::Version"):
                found = self.function_of(resource.get("Properties", {}).get("FunctionName"))
                if found:
                    return found
        return None

    def emulator_template(self) -> tuple[dict[str, Any], list[str]]:
        """The part of the translated template moto's CloudFormation creates, and warnings.

        Rule targets that point at resources the emulator does not hold (a function, say) are removed
        with a warning: the local stack delivers bus events to functions only through queues.
        """
        kept: dict[str, Any] = {}
        for logical_id, resource in self.resources.items():
            if resource.get("Type") not in EMULATED_TYPES:
                continue
            if logical_id in self.schedule_rules():
                continue
            kept[logical_id] = copy.deepcopy(resource)

        warnings: list[str] = []
        parameters = set(self.translated.get("Parameters", {}))
        for logical_id, resource in list(kept.items()):
            properties = resource.get("Properties", {})
            if resource["Type"] == "AWS::Events::Rule" and "Targets" in properties:
                targets = []
                for target in properties["Targets"]:
                    missing = references(target) - set(kept) - parameters
                    if missing:
                        warnings.append(
                            f"rule {logical_id}: target {target.get('Id')} points at "
                            f"{', '.join(sorted(missing))}, which the local stack does not emulate; "
                            "route bus events to functions through a queue"
                        )
                    else:
                        targets.append(target)
                properties["Targets"] = targets
            depends_on = resource.get("DependsOn")
            if depends_on:
                listed = [depends_on] if isinstance(depends_on, str) else depends_on
                resource["DependsOn"] = [d for d in listed if d in kept]
            missing = references({k: v for k, v in resource.items() if k != "DependsOn"})
            missing -= set(kept) | parameters
            if missing:
                raise LocalStackError(
                    f"{logical_id} ({resource['Type']}) refers to {', '.join(sorted(missing))}, "
                    "which the local stack does not create in the emulator"
                )

        template: dict[str, Any] = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": kept}
        for section in ("Parameters", "Conditions", "Mappings"):
            if self.translated.get(section):
                template[section] = copy.deepcopy(self.translated[section])
        return template, warnings


def read_source(root: Path) -> dict[str, Any]:
    """template.yaml parsed with SAM's own YAML loader (it understands !Ref, !Sub and friends)."""
    from samtranslator.yaml_helper import yaml_parse

    path = root / TEMPLATE_FILE
    try:
        source = yaml_parse(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LocalStackError(f"cannot read {path}: {exc.strerror}") from exc
    except Exception as exc:  # the YAML library's own errors, which carry the line
        raise LocalStackError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(source, dict) or not isinstance(source.get("Resources"), dict):
        raise LocalStackError(f"{path} has no Resources section")
    return source


def load_template(
    root: Path, parameter_values: Mapping[str, Any], *, region: str, source: dict[str, Any] | None = None
) -> SamTemplate:
    """Translate template.yaml (or an already parsed `source`) with the given parameter values."""
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.translator.transform import transform

    source = source if source is not None else read_source(root)
    fragment = copy.deepcopy(source)
    code_folders: dict[str, Path] = {}

    globals_function = fragment.get("Globals", {}).get("Function", {})
    if "CodeUri" in globals_function:
        code_folders[_GLOBALS_KEY] = _local_folder(root, "Globals", globals_function["CodeUri"])
        globals_function["CodeUri"] = _placeholder(_GLOBALS_KEY)

    for logical_id, resource in fragment["Resources"].items():
        kind = resource.get("Type")
        properties = resource.get("Properties") or {}
        if kind == "AWS::Serverless::Function":
            if "InlineCode" in properties or properties.get("PackageType") == "Image":
                raise LocalStackError(f"{logical_id}: inline code and container images cannot run locally")
            if "CodeUri" in properties:
                code_folders[logical_id] = _local_folder(root, logical_id, properties["CodeUri"])
                properties["CodeUri"] = _placeholder(logical_id)
        elif kind == "AWS::Serverless::LayerVersion":
            code_folders[logical_id] = _local_folder(root, logical_id, properties.get("ContentUri"))
            properties["ContentUri"] = _placeholder(logical_id)

    # The translator logs a warning about its own unpublished usage metrics on every run.
    logging.getLogger("samtranslator").setLevel(logging.ERROR)
    try:
        with _region_for_translator(region):
            translated = transform(fragment, dict(parameter_values), _NoManagedPolicies())
    except InvalidDocumentException as exc:
        causes = "; ".join(str(cause) for cause in exc.causes) or str(exc)
        raise LocalStackError(f"{root / TEMPLATE_FILE} does not translate: {causes}") from exc

    return SamTemplate(root=root, source=source, translated=translated, code_folders=code_folders)
