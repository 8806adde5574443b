"""Conditions written in the policy file (``rules.<id>.when``), compiled once at load time.

``compile_condition(text, variables) -> Condition`` accepts a small, side-effect-free subset of Python expression
syntax: ``and`` / ``or`` / ``not``, comparisons (``== != < <= > >=``, chained), ``in`` / ``not in`` against a
literal list or a string, names from ``variables`` (name -> ``"num" | "str" | "bool"``) and literals (numbers are
read as ``Decimal``). Anything else (calls, attributes, arithmetic, unknown names, comparing a number with a text)
raises ``ExprError`` with a message fit for the person editing the policy. The compiled ``Condition`` takes a
mapping of variable values; a comparison with an unknown (``None``) value is false.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

Condition = Callable[[Mapping[str, Any]], bool]
Compiled = tuple[Callable[[Mapping[str, Any]], Any], str]

MAX_LENGTH = 500
_ORDER = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge}
_EQUAL = {ast.Eq: operator.eq, ast.NotEq: operator.ne}


class ExprError(ValueError):
    pass


def _constant(value: Any) -> Compiled:
    if isinstance(value, bool):
        return (lambda env: value), "bool"
    if isinstance(value, int | float):
        number = Decimal(repr(value))
        return (lambda env: number), "num"
    if isinstance(value, str):
        return (lambda env: value), "str"
    if value is None:
        return (lambda env: None), "none"
    raise ExprError(f"the literal {value!r} is not allowed")


def _literal_set(node: ast.List | ast.Tuple | ast.Set) -> Compiled:
    values, kinds = [], set()
    for element in node.elts:
        if isinstance(element, ast.UnaryOp) and isinstance(element.op, ast.USub) \
                and isinstance(element.operand, ast.Constant):
            element = ast.Constant(-element.operand.value)
        if not isinstance(element, ast.Constant):
            raise ExprError("a list may only hold literal values")
        fn, kind = _constant(element.value)
        values.append(fn({}))
        kinds.add(kind)
    if len(kinds) > 1:
        raise ExprError("a list must hold values of one type (all numbers or all texts)")
    frozen = frozenset(values)
    return (lambda env: frozen), f"set:{kinds.pop() if kinds else 'any'}"


def _compare_pair(op: ast.cmpop, left: Compiled, right: Compiled) -> Callable[[Mapping[str, Any]], bool]:
    (lf, lt), (rf, rt) = left, right
    if type(op) in _ORDER:
        if lt != rt or lt not in ("num", "str"):
            raise ExprError(f"cannot order-compare a {lt} with a {rt}")
        fn = _ORDER[type(op)]

        def ordered(env: Mapping[str, Any]) -> bool:
            a, b = lf(env), rf(env)
            return a is not None and b is not None and fn(a, b)
        return ordered
    if type(op) in _EQUAL:
        if lt != rt and "none" not in (lt, rt):
            raise ExprError(f"comparing a {lt} with a {rt} is always false")
        fn = _EQUAL[type(op)]
        return lambda env: fn(lf(env), rf(env))
    if isinstance(op, ast.In | ast.NotIn):
        if not (rt == f"set:{lt}" or rt == "set:any" or (rt == "str" and lt == "str")):
            raise ExprError(f"'in' needs a list of {lt} values (or a text) on its right")
        negate = isinstance(op, ast.NotIn)

        def member(env: Mapping[str, Any]) -> bool:
            a, b = lf(env), rf(env)
            return (a is not None and a in b) != negate
        return member
    raise ExprError(f"the operator {type(op).__name__} is not allowed")


def _compile(node: ast.AST, variables: Mapping[str, str]) -> Compiled:
    if isinstance(node, ast.BoolOp):
        parts = [_compile(v, variables) for v in node.values]
        if any(kind != "bool" for _, kind in parts):
            raise ExprError("'and' / 'or' join conditions, not values")
        fns = [fn for fn, _ in parts]
        if len(fns) == 2:  # the common case, without a generator per evaluation
            a, b = fns
            if isinstance(node.op, ast.And):
                return (lambda env: a(env) and b(env)), "bool"
            return (lambda env: a(env) or b(env)), "bool"
        if isinstance(node.op, ast.And):
            return (lambda env: all(f(env) for f in fns)), "bool"
        return (lambda env: any(f(env) for f in fns)), "bool"
    if isinstance(node, ast.UnaryOp):
        if isinstance(node.op, ast.Not):
            fn, kind = _compile(node.operand, variables)
            if kind != "bool":
                raise ExprError("'not' applies to a condition")
            return (lambda env: not fn(env)), "bool"
        if isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant) \
                and isinstance(node.operand.value, int | float) and not isinstance(node.operand.value, bool):
            return _constant(-node.operand.value)
        raise ExprError(f"the operator {type(node.op).__name__} is not allowed")
    if isinstance(node, ast.Compare):
        operands = [_compile(node.left, variables)] + [
            _literal_set(c) if isinstance(c, ast.List | ast.Tuple | ast.Set) else _compile(c, variables)
            for c in node.comparators]
        pairs = [_compare_pair(op, operands[i], operands[i + 1]) for i, op in enumerate(node.ops)]
        if len(pairs) == 1:
            return pairs[0], "bool"
        return (lambda env: all(p(env) for p in pairs)), "bool"
    if isinstance(node, ast.Name):
        if node.id not in variables:
            raise ExprError(f"unknown name {node.id!r}; known: {', '.join(sorted(variables))}")
        name = node.id
        return (lambda env: env.get(name)), variables[name]
    if isinstance(node, ast.Constant):
        return _constant(node.value)
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        raise ExprError("a list is only allowed on the right of 'in'")
    raise ExprError(f"{type(node).__name__} is not allowed in a policy condition")


def compile_condition(text: str, variables: Mapping[str, str]) -> Condition:
    if not isinstance(text, str) or not text.strip():
        raise ExprError("the condition is empty")
    if len(text) > MAX_LENGTH:
        raise ExprError(f"the condition is longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExprError(f"not a valid condition: {exc.msg}") from None
    fn, kind = _compile(tree.body, variables)
    if kind != "bool":
        raise ExprError("the expression must be a condition (true or false), e.g. \"amount > 500\"")
    return fn
