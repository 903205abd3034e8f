"""CloudFormation intrinsic functions, resolved the way CloudFormation would for one stack.

The local stack needs concrete values where the template has intrinsics: function environment
variables, the integration URI of each route, the queue of each event source mapping, the target of
each schedule. `Resolver` evaluates Ref, Fn::GetAtt, Fn::Sub, Fn::If (with the template's
Conditions), Fn::Equals/Not/And/Or, Fn::Select, Fn::Split, Fn::Join, Fn::FindInMap and Fn::Base64;
references to resources go through a `ResourceLookup`, which knows the physical ids in the emulator.
`references` lists the logical ids a fragment depends on, without resolving anything.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from typing import Any, Protocol

from .errors import LocalStackError

__all__ = ["NO_VALUE", "Resolver", "ResourceLookup", "UnresolvableError", "references"]

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class _NoValue:
    """AWS::NoValue: the enclosing property or list item disappears."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Any = _NoValue()


class UnresolvableError(LocalStackError):
    """An intrinsic the local stack cannot evaluate; the message names it."""


class ResourceLookup(Protocol):
    def ref(self, logical_id: str) -> Any: ...

    def get_att(self, logical_id: str, attribute: str) -> Any: ...


def _split_get_att(args: Any) -> tuple[str, str]:
    if isinstance(args, str):
        logical_id, _, attribute = args.partition(".")
    elif isinstance(args, list) and len(args) == 2 and all(isinstance(a, str) for a in args):
        logical_id, attribute = args
    else:
        raise UnresolvableError(f"Fn::GetAtt needs [LogicalId, Attribute], got {args!r}")
    if not logical_id or not attribute:
        raise UnresolvableError(f"Fn::GetAtt needs [LogicalId, Attribute], got {args!r}")
    return logical_id, attribute


def _sub_parts(args: Any) -> tuple[str, Mapping[str, Any]]:
    if isinstance(args, str):
        return args, {}
    if isinstance(args, list) and len(args) == 2 and isinstance(args[0], str) and isinstance(args[1], dict):
        return args[0], args[1]
    raise UnresolvableError(f"Fn::Sub needs a string or [string, {{variables}}], got {args!r}")


def references(node: Any) -> set[str]:
    """Logical ids (and parameter names) a template fragment refers to; pseudo parameters excluded."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, list):
            for item in value:
                walk(item)
            return
        if not isinstance(value, dict):
            return
        if len(value) == 1:
            ((key, args),) = value.items()
            if key == "Ref" and isinstance(args, str):
                if not args.startswith("AWS::"):
                    found.add(args)
                return
            if key == "Fn::GetAtt":
                found.add(_split_get_att(args)[0])
                return
            if key == "Fn::Sub":
                text, variables = _sub_parts(args)
                for name in _SUB_VARIABLE.findall(text):
                    if name.startswith("!") or name in variables:
                        continue
                    target = name.split(".", 1)[0]
                    if not target.startswith("AWS::"):
                        found.add(target)
                walk(list(variables.values()))
                return
        for item in value.values():
            walk(item)

    walk(node)
    return found


class Resolver:
    """Evaluates intrinsics for one stack: parameters, conditions, mappings and resources."""

    def __init__(
        self,
        *,
        parameters: Mapping[str, Any],
        resources: ResourceLookup,
        conditions: Mapping[str, Any] | None = None,
        mappings: Mapping[str, Any] | None = None,
        region: str = "us-east-1",
        account_id: str = "123456789012",
        stack_name: str = "commerce-hub-local",
        stack_id: str | None = None,
    ) -> None:
        self.parameters = dict(parameters)
        self.resources = resources
        self.conditions = dict(conditions or {})
        self.mappings = dict(mappings or {})
        self.pseudo: dict[str, Any] = {
            "AWS::Region": region,
            "AWS::AccountId": account_id,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": stack_name,
            "AWS::StackId": stack_id
            or f"arn:aws:cloudformation:{region}:{account_id}:stack/{stack_name}/00000000-0000-0000-0000-000000000000",
            "AWS::NotificationARNs": [],
        }
        self._condition_values: dict[str, bool] = {}

    # ------------------------------------------------------------------ public
    def resolve(self, node: Any) -> Any:
        """The value of a template fragment; AWS::NoValue entries are dropped from dicts and lists."""
        if isinstance(node, list):
            return [v for v in (self.resolve(item) for item in node) if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, args),) = node.items()
            handler = self._FUNCTIONS.get(key)
            # {"Condition": {...}} is a plain property (an IAM statement's); only a name is the function.
            if handler is not None and not (key == "Condition" and not isinstance(args, str)):
                return handler(self, args)
            if key.startswith("Fn::"):
                raise UnresolvableError(f"{key} is not supported by the local stack")
        resolved = {key: self.resolve(value) for key, value in node.items()}
        return {key: value for key, value in resolved.items() if value is not NO_VALUE}

    def resolve_string(self, node: Any, what: str) -> str:
        """A value that must end up a string (environment variables, names); numbers are converted."""
        value = self.resolve(node)
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float | str):
            return str(value)
        raise UnresolvableError(f"{what} must resolve to a string, got {value!r}")

    def condition(self, name: str) -> bool:
        if name not in self._condition_values:
            if name not in self.conditions:
                raise UnresolvableError(f"condition {name!r} is not defined in the template's Conditions")
            self._condition_values[name] = self._truth(self.conditions[name])
        return self._condition_values[name]

    def ref(self, name: str) -> Any:
        if name in self.pseudo:
            return self.pseudo[name]
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.parameters:
            return self.parameters[name]
        return self.resources.ref(name)

    # ------------------------------------------------------------ functions
    def _truth(self, node: Any) -> bool:
        if isinstance(node, dict) and len(node) == 1 and "Condition" in node:
            return self.condition(node["Condition"])
        value = self.resolve(node)
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise UnresolvableError(f"a condition must be true or false, got {value!r}")

    def _ref(self, args: Any) -> Any:
        if not isinstance(args, str):
            raise UnresolvableError(f"Ref needs a name, got {args!r}")
        return self.ref(args)

    def _get_att(self, args: Any) -> Any:
        logical_id, attribute = _split_get_att(args)
        return self.resources.get_att(logical_id, attribute)

    def _sub(self, args: Any) -> str:
        text, variables = _sub_parts(args)
        values = {name: self.resolve(value) for name, value in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in values:
                value = values[name]
            elif "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                value = self.resources.get_att(logical_id, attribute)
            else:
                value = self.ref(name)
            if isinstance(value, bool | list | dict) or value is NO_VALUE:
                raise UnresolvableError(f"Fn::Sub variable ${{{name}}} must be a string, got {value!r}")
            return str(value)

        return _SUB_VARIABLE.sub(replace, text)

    def _if(self, args: Any) -> Any:
        if not (isinstance(args, list) and len(args) == 3 and isinstance(args[0], str)):
            raise UnresolvableError(f"Fn::If needs [Condition, value if true, value if false], got {args!r}")
        return self.resolve(args[1] if self.condition(args[0]) else args[2])

    def _equals(self, args: Any) -> bool:
        if not (isinstance(args, list) and len(args) == 2):
            raise UnresolvableError(f"Fn::Equals needs two values, got {args!r}")
        # CloudFormation compares the string forms: a Number parameter equals "30" and 30.
        left, right = (self.resolve(a) for a in args)
        return _as_text(left) == _as_text(right)

    def _not(self, args: Any) -> bool:
        if not (isinstance(args, list) and len(args) == 1):
            raise UnresolvableError(f"Fn::Not needs one condition, got {args!r}")
        return not self._truth(args[0])

    def _and(self, args: Any) -> bool:
        if not isinstance(args, list):
            raise UnresolvableError(f"Fn::And needs a list of conditions, got {args!r}")
        return all(self._truth(a) for a in args)

    def _or(self, args: Any) -> bool:
        if not isinstance(args, list):
            raise UnresolvableError(f"Fn::Or needs a list of conditions, got {args!r}")
        return any(self._truth(a) for a in args)

    def _select(self, args: Any) -> Any:
        if not (isinstance(args, list) and len(args) == 2):
            raise UnresolvableError(f"Fn::Select needs [index, list], got {args!r}")
        index, items = self.resolve(args[0]), self.resolve(args[1])
        try:
            return items[int(index)]
        except (ValueError, TypeError, IndexError) as exc:
            raise UnresolvableError(f"Fn::Select index {index!r} is not valid for {items!r}") from exc

    def _split(self, args: Any) -> list[str]:
        if not (isinstance(args, list) and len(args) == 2):
            raise UnresolvableError(f"Fn::Split needs exactly [delimiter, string], got {args!r}")
        delimiter, text = self.resolve(args[0]), self.resolve(args[1])
        if not isinstance(delimiter, str) or not isinstance(text, str):
            raise UnresolvableError(f"Fn::Split needs strings, got {delimiter!r} and {text!r}")
        return text.split(delimiter)

    def _join(self, args: Any) -> str:
        if not (isinstance(args, list) and len(args) == 2):
            raise UnresolvableError(f"Fn::Join needs [delimiter, list], got {args!r}")
        delimiter, items = self.resolve(args[0]), self.resolve(args[1])
        if not isinstance(delimiter, str) or not isinstance(items, list):
            raise UnresolvableError(f"Fn::Join needs a delimiter and a list, got {args!r}")
        return delimiter.join(_as_text(item) for item in items)

    def _find_in_map(self, args: Any) -> Any:
        if not (isinstance(args, list) and len(args) == 3):
            raise UnresolvableError(f"Fn::FindInMap needs [map, top key, second key], got {args!r}")
        name, top, second = (self.resolve(a) for a in args)
        try:
            return self.mappings[name][top][second]
        except (KeyError, TypeError) as exc:
            raise UnresolvableError(f"Fn::FindInMap: no {name}.{top}.{second} in the template's Mappings") from exc

    def _base64(self, args: Any) -> str:
        return base64.b64encode(_as_text(self.resolve(args)).encode()).decode()

    def _condition_fn(self, args: Any) -> bool:
        return self.condition(args)

    _FUNCTIONS: Mapping[str, Any] = {
        "Ref": _ref,
        "Fn::GetAtt": _get_att,
        "Fn::Sub": _sub,
        "Fn::If": _if,
        "Fn::Equals": _equals,
        "Fn::Not": _not,
        "Fn::And": _and,
        "Fn::Or": _or,
        "Fn::Select": _select,
        "Fn::Split": _split,
        "Fn::Join": _join,
        "Fn::FindInMap": _find_in_map,
        "Fn::Base64": _base64,
        "Condition": _condition_fn,
    }


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    raise UnresolvableError(f"expected a string, got {value!r}")
