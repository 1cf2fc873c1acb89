"""A cheaper ``TransactWriteItems`` for moto's DynamoDB, for the local runtime's process.

moto 5.2 backs every transaction up by deep-copying each whole table it names, so
that it can put the tables back when a condition fails. The order tasks write in
transactions, so under ``workflows up`` each order cost time (and garbage) in
proportion to the size of the table: the measured cause of executions falling behind
accepts and of the runtime's RSS growth (issue #13).

``patch_transactions`` keeps moto's own transaction code and its answers, and
changes only what the backup holds: the items the transaction names (at most 100,
each one copied), instead of whole tables. Before moto runs the transaction, each
named item (or its absence) is recorded; moto's backup step then takes the table
itself rather than a copy of it (so its "put the tables back" is a no-op), and when
moto raises, each named item is put back as it was. A transaction touches no item
it does not name, so the tables end as moto's full copies would have left them.
(moto's copy also dropped stream records written during a failed transaction; the
template's tables have no streams.) The patch is for the runtime's own process
(``workflows run`` and ``workflows up``), switched on by them, never on import.

``patch_transactions`` also stops moto from keeping every model instance it ever
made (``untrack_instances``): moto's ``BaseModel`` appends each new instance to its
class's ``instances_tracked`` list, for its dashboard and its reset, and never lets
go of one. Every DynamoDB write makes new ``Item`` objects (an UpdateItem two, a
transaction's backup one per named item), so under ``workflows up`` copies of the
items piled up for the life of the process: after 400 orders 11,600 Items were
reachable and 4,808 were in the tables (issue #13). S3's keys and multipart uploads
stay tracked: moto's S3 reset goes through them to close their buffers.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import pickle
import re
import threading
from collections import deque
from collections.abc import Callable, Iterable
from types import SimpleNamespace
from typing import Any, Final

__all__ = [
    "bring_up_services",
    "bucket_maker",
    "cache_host_lookups",
    "cache_lookups",
    "patch_transactions",
    "thin_dispatch",
    "untrack_instances",
]

_installed = threading.Lock()
_done = False


def patch_transactions() -> None:
    """Switch the cheaper backup on for this process's moto DynamoDB (idempotent)."""
    global _done
    with _installed:
        if _done:
            return
        from moto.dynamodb import models
        from moto.dynamodb.models.dynamo_type import Item
        from moto.dynamodb.models.table import Table

        uncopied = threading.local()

        def deepcopy(value: Any, memo: Any = None) -> Any:
            # the whole-table backup: the items are restored one by one instead
            if isinstance(value, Table):
                return value
            if type(value) is Item and getattr(uncopied, "item", False):
                uncopied.item = False
                return value  # UpdateItem's copy of the item as it was, for a stream only
            return copy.deepcopy(value, memo)

        # only moto's DynamoDB models module sees this name
        models.copy = SimpleNamespace(deepcopy=deepcopy)  # type: ignore[attr-defined,assignment]

        # moto's UpdateItem deep-copies the item before changing it (``orig_item``), only to
        # give a stream the old image: not for a table without a stream (~3% of the process)
        update = models.DynamoDBBackend.update_item

        @functools.wraps(update)
        def update_item(self: Any, table_name: str, *args: Any, **kwargs: Any) -> Any:
            table = self.tables.get(table_name)
            uncopied.item = table is not None and table.stream_shard is None
            try:
                return update(self, table_name, *args, **kwargs)
            finally:
                uncopied.item = False

        models.DynamoDBBackend.update_item = update_item  # type: ignore[method-assign]
        original = models.DynamoDBBackend.transact_write_items

        @functools.wraps(original)
        def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
            saved = _named_items(self, transact_items)
            try:
                original(self, transact_items)
            except BaseException:
                _restore(saved)
                raise

        models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
        # here, as both callers of this patch want them too (the runtime's moto server and
        # `workflows run`); where moto runs in another process, call them there
        untrack_instances()
        cache_lookups()
        _done = True


_TRACKED_STILL = ("moto.s3.",)  # moto's S3 reset disposes of its keys' buffers through them


def untrack_instances() -> None:
    """New moto model instances are no longer appended to their class's
    ``instances_tracked`` (S3's still are); what was tracked so far stays."""
    from moto.core.common_models import BaseModel

    if getattr(BaseModel.__new__, "_untracked", False):
        return

    def __new__(cls: Any, *args: Any, **kwargs: Any) -> Any:
        instance = object.__new__(cls)
        if cls.__module__.startswith(_TRACKED_STILL):
            cls.instances_tracked.append(instance)
        return instance

    __new__._untracked = True  # type: ignore[attr-defined]
    BaseModel.__new__ = __new__  # type: ignore[method-assign]


Saved = list[tuple[Any, Any, Any, Any]]  # (table, hash key, range key, item copy or None)


def _named_items(backend: Any, transact_items: list[dict[str, Any]]) -> Saved:
    from moto.dynamodb.models.dynamo_type import DynamoType

    saved: Saved = []
    for entry in transact_items[:100]:  # more is refused before anything is written
        if len(entry) != 1:
            continue
        operation, request = next(iter(entry.items()))
        table = backend.tables.get(request.get("TableName"))
        if table is None:
            continue
        key = request.get("Item") if operation == "Put" else request.get("Key")
        if not isinstance(key, dict) or table.hash_key_attr not in key:
            continue
        hash_key = DynamoType(key[table.hash_key_attr])
        range_key = None
        if table.range_key_attr is not None:
            if table.range_key_attr not in key:
                continue
            range_key = DynamoType(key[table.range_key_attr])
        current = table.get_item(hash_key, range_key)
        saved.append((table, hash_key, range_key, copy.deepcopy(current)))
    return saved


def _restore(saved: Saved) -> None:
    # moto keeps items as items[hash] or items[hash][range] (Table.put_item)
    for table, hash_key, range_key, item in reversed(saved):
        if range_key is not None:
            group = table.items[hash_key]
            if item is None:
                group.pop(range_key, None)
            else:
                group[range_key] = item
        elif item is None:
            table.items.pop(hash_key, None)
        else:
            table.items[hash_key] = item


def cache_lookups() -> None:
    """moto's per-request look-ups whose answers never change in a process, remembered.

    Profiled under ``workflows up`` (issue #14), each request paid for them again:
    which backend serves a host (``get_backend_for_host`` lists moto's package folder,
    an ``isdir`` per service), and which methods a response class has
    (``method_names_from_class`` runs ``inspect.getmembers`` over the class). Both
    depend only on their argument and on moto's installed code; a host nothing serves
    is not remembered (moto prints a hint for it each time). Idempotent.
    """
    from moto.core import responses

    if hasattr(responses.method_names_from_class, "cache_info"):  # type: ignore[attr-defined]
        return
    method_names = functools.cache(responses.method_names_from_class)  # type: ignore[attr-defined]
    responses.method_names_from_class = method_names  # type: ignore[attr-defined]
    _cache_possible_keys()
    _cache_expressions()
    _cache_condition_parses()
    _cache_node_types()
    _serialize_attribute_values()
    _parse_attribute_values()
    _build_items_in_linear_time()
    _cast_scalars_directly()
    _authorize_without_importing()


def cache_host_lookups() -> None:
    """Which backend serves a host, remembered by moto's server (``thin_dispatch``).

    Only moto's server looks hosts up: ``workflows run`` calls moto in-process, where
    importing the server's module (Flask, Jinja, flask-cors: ~35 ms of CPU) would buy
    nothing. Idempotent.
    """
    from moto.moto_server import werkzeug_app

    dispatcher = werkzeug_app.DomainDispatcherApplication
    if getattr(dispatcher.get_backend_for_host, "_cached", False):
        return
    find_backend = dispatcher.get_backend_for_host
    backends: dict[str | None, Any] = {}

    def get_backend_for_host(self: Any, host: str | None) -> Any:
        try:
            return backends[host]
        except KeyError:
            found = find_backend(self, host)
            if found:
                backends[host] = found
            return found

    get_backend_for_host._cached = True  # type: ignore[attr-defined]
    dispatcher.get_backend_for_host = get_backend_for_host  # type: ignore[method-assign]


_KEYS_KEPT = 4096  # (class, key, shape) triples; a service's models have a few hundred


def _cache_possible_keys() -> None:
    """The names moto's serializer tries, for a key of a model's answer, remembered.

    ``XFormedAttributePicker.get_possible_keys`` asks each alias provider in turn (a new
    provider object each) for every key of every answer. With moto's own providers the
    names depend only on the key, the object's class (its ``Meta`` aliases and its
    name) and the botocore shape with its parent, which moto's cached service models
    keep: those are the cache's key, the shapes compared by identity.
    """
    from moto.core import serialize

    picker = serialize.XFormedAttributePicker
    find_keys = picker.get_possible_keys
    kept: dict[tuple[Any, ...], tuple[Any, Any, tuple[str, ...]]] = {}

    def get_possible_keys(self: Any, context: Any) -> Any:
        obj, shape = context.obj, context.shape
        if self.alias_providers is not serialize.DEFAULT_ALIAS_PROVIDERS or "Meta" in getattr(
            obj, "__dict__", ()
        ):
            return find_keys(self, context)  # not moto's providers, or aliases of its own
        parent = getattr(shape, "parent", None)
        cls = obj.__class__
        key = (cls, context.key, id(shape), id(parent))
        found = kept.get(key)
        if found is not None and found[0] is shape and found[1] is parent:
            return found[2]
        names = tuple(find_keys(self, context))
        if len(kept) >= _KEYS_KEPT:
            kept.clear()  # shapes made anew per answer would otherwise pile up
        kept[key] = (shape, parent, names)
        return names

    get_possible_keys.__wrapped__ = find_keys  # type: ignore[attr-defined]
    picker.get_possible_keys = get_possible_keys  # type: ignore[method-assign]


_EXPRESSIONS_KEPT = 1024


def _cache_expressions() -> None:
    """DynamoDB's parsed update expressions and lexed condition expressions, by their text.

    moto parses an UpdateItem's ``UpdateExpression`` twice (to check its placeholders,
    then to apply it) and lexes every ``ConditionExpression``, on every request; an
    application sends the same few texts over and over. Both results are the text's
    alone and never changed afterwards: moto's validators deep-copy the update
    expression's tree before they rewrite it (from its pickle, taken when it was
    parsed: the same objects, five times faster), and the condition's parser builds new
    nodes from the lexed ones (a fresh deque of them each time, as it consumes it).
    Expressions that fail to parse raise as before and are not remembered.
    """
    from moto.dynamodb.comparisons import ConditionExpressionParser
    from moto.dynamodb.parsing import expressions, validators

    UpdateExpressionParser = expressions.UpdateExpressionParser  # type: ignore[attr-defined]

    parse_update = UpdateExpressionParser.make.__func__

    # each parsed tree's pickle, taken as parsed: moto's validators deep-copy the tree
    # (copy.deepcopy, ~220 us for a four-action SET) where unpickling it is ~40 us
    pickled: dict[int, tuple[Any, bytes]] = {}

    @functools.lru_cache(maxsize=_EXPRESSIONS_KEPT)
    def parsed_update(cls: Any, expression: str) -> Any:
        tree = parse_update(cls, expression)
        try:
            data = pickle.dumps(tree, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # pragma: no cover - moto's nodes hold strings and numbers
            return tree
        if len(pickled) >= _EXPRESSIONS_KEPT:
            pickled.clear()
        pickled[id(tree)] = (tree, data)
        return tree

    UpdateExpressionParser.make = classmethod(parsed_update)  # type: ignore[arg-type]

    def deepcopy(value: Any, memo: Any = None) -> Any:
        found = pickled.get(id(value)) if memo is None else None
        if found is not None and found[0] is value:
            return pickle.loads(found[1])
        return copy.deepcopy(value, memo)

    # only the validators' module sees this name (its copies of the tree, of list values)
    validators.deepcopy = deepcopy  # type: ignore[attr-defined,assignment]

    lex = ConditionExpressionParser._lex_condition_expression
    lexed: dict[str, tuple[Any, ...]] = {}

    def lex_condition_expression(self: Any) -> Any:
        text = self.condition_expression
        nodes = lexed.get(text)
        if nodes is None:
            nodes = tuple(lex(self))
            if len(lexed) >= _EXPRESSIONS_KEPT:
                lexed.clear()
            lexed[text] = nodes
        return deque(nodes)

    ConditionExpressionParser._lex_condition_expression = lex_condition_expression  # type: ignore[method-assign]


class _Slot:
    """Where a condition's parsed tree holds an expression attribute value (by name)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


def _cache_condition_parses() -> None:
    """DynamoDB's parsed condition expressions, remembered by their text, names and the
    types of their values, and filled with each request's values.

    moto parses a ``ConditionExpression`` into a tree of operators twice per conditional
    write (the handler parses it to check its names, the backend again to evaluate it),
    and Powertools' idempotency sends the same condition with every record: ~14% of the
    services' CPU per order. What the parse checks and builds depends on the text, the
    attribute names and the type of each value; the values themselves only end up in the
    tree's ``AttributeValue`` leaves. So the first parse of a (text, names, value names
    and types) is moto's own, on the request's values (its answer and its errors are the
    request's); a second parse of the same with a marker in place of each value is kept
    as the template, and later parses rebuild the template's objects with each marker
    made into the request's ``AttributeValue``, as moto's parse would have made it. The
    names and values moto reports as found are the template's (they come from the text).
    A value that is not a one-member dict, or a tree with objects the rebuild does not
    know, is parsed by moto every time.
    """
    from moto.dynamodb import comparisons

    parser_class = comparisons.ConditionExpressionParser
    parse = parser_class.parse
    if getattr(parse, "_templates", False):
        return
    AttributeValue = comparisons.AttributeValue
    tree_classes = (comparisons.Op, comparisons.Func, comparisons.Operand)
    plain = (str, int, float, bool, type(None))
    # key -> (template, names found, values found), or None: parsed by moto every time
    templates: dict[Any, tuple[Any, list[str], list[str]] | None] = {}

    def key_of(self: Any) -> Any:
        text = self.condition_expression
        names = self.expression_attribute_names
        values = self.expression_attribute_values
        if type(text) is not str or not text:
            return None
        if names is not None and type(names) is not dict:
            return None
        if values is not None and type(values) is not dict:
            return None
        kinds = []
        for name, value in (values or {}).items():
            if type(value) is not dict or len(value) != 1:
                return None
            kinds.append((name, next(iter(value))))
        key = (text, None if names is None else tuple(names.items()), values is None, tuple(kinds))
        try:
            hash(key)
        except TypeError:
            return None
        return key

    def rebuildable(node: Any) -> bool:
        if isinstance(node, plain) or type(node) is _Slot:
            return True
        if type(node) in (list, tuple):
            return all(rebuildable(child) for child in node)
        if isinstance(node, tree_classes) and type(node).__setattr__ is object.__setattr__:
            return all(rebuildable(value) for value in vars(node).values())
        return False

    def template_of(self: Any) -> tuple[Any, list[str], list[str]] | None:
        values = self.expression_attribute_values
        markers: Any = None
        if values is not None:
            markers = {name: {next(iter(value)): _Slot(name)} for name, value in values.items()}
        marked = parser_class(self.condition_expression, self.expression_attribute_names, markers)
        try:
            tree = parse(marked)
        except Exception:  # pragma: no cover - the same parse passed with the values
            return None
        if not rebuildable(tree):
            return None
        return tree, list(marked.expr_attr_names_found), list(marked.expr_attr_values_found)

    def fill(node: Any, values: dict[str, Any], made: dict[int, Any]) -> Any:
        cls: Any = type(node)
        if cls is list:
            return [fill(child, values, made) for child in node]
        if cls is tuple:
            return tuple(fill(child, values, made) for child in node)
        if isinstance(node, plain):
            return node
        found = made.get(id(node))
        if found is not None:
            return found  # one object in two places (a function's arguments and fields)
        if cls is AttributeValue and type(node.value) is _Slot:
            new = AttributeValue(values[node.value.name])
        else:
            new = cls.__new__(cls)
            new.__dict__.update({k: fill(v, values, made) for k, v in vars(node).items()})
        made[id(node)] = new
        return new

    def parse_condition(self: Any) -> Any:
        key = key_of(self)
        if key is None:
            return parse(self)
        try:
            found = templates[key]
        except KeyError:
            tree = parse(self)  # the request's own parse: its answer, or its error
            if len(templates) >= _EXPRESSIONS_KEPT:
                templates.clear()
            templates[key] = template_of(self)
            return tree
        if found is None:
            return parse(self)
        template, names_found, values_found = found
        self.expr_attr_names_found.extend(names_found)
        self.expr_attr_values_found.extend(values_found)
        return fill(template, self.expression_attribute_values, {})

    parse_condition._templates = True  # type: ignore[attr-defined]
    parse_condition.__wrapped__ = parse  # type: ignore[attr-defined]
    parser_class.parse = parse_condition  # type: ignore[method-assign]


def _cache_node_types() -> None:
    """moto's update-expression traversals, node by node as before, without asking each
    node's classes again at every node.

    Each UpdateItem (and each Update of a transaction) runs ten traversers over the
    expression's tree (``Validator.validate``: counts, overlaps, keys, values, paths,
    functions, missing paths, operations, types, empty keys). At every node of every
    traversal moto asks ``isinstance(node, Node)`` (an ABC: a Python-level check), builds
    the traverser's processing map anew (a dict of bound methods) for a tuple of its
    classes, asks ``isinstance`` against that tuple, and builds the map again to pick the
    processor: ~13% of the services' CPU per order. The answers depend only on the node's
    class and the traverser's class (its map is a literal of bound methods in each of
    moto's traversers), so they are remembered per class: the same nodes are visited in
    the same order, the same hook (``pre_processing_of_child``) is called before each
    child, the same processor replaces the same nodes. A traverser whose map is not made
    of its own methods, or that overrides ``process`` or ``nodes_to_be_processed``, is
    traversed by moto's code as before.
    """
    from moto.dynamodb.parsing import ast_nodes

    traverser = ast_nodes.DepthFirstTraverser  # type: ignore[attr-defined]
    if getattr(traverser.traverse_node_recursively, "_by_class", False):
        return
    Node = ast_nodes.Node  # type: ignore[attr-defined]
    recurse = traverser.traverse_node_recursively
    base_process = traverser.process
    base_node_types = traverser.nodes_to_be_processed
    base_pre = traverser.pre_processing_of_child
    is_node: dict[type, bool] = {}
    # per traverser class: (its processing map as [(node class, function)], the
    # processor found for each node class met so far, or None) or None for moto's walk
    plans: dict[type, Any] = {}

    def plan_of(self: Any) -> Any:
        cls = type(self)
        if cls.process is not base_process or cls.nodes_to_be_processed is not base_node_types:
            return None
        processing = self._processing_map()
        steps = []
        for node_class, method in processing.items():
            if getattr(method, "__self__", None) is not self or not isinstance(node_class, type):
                return None
            steps.append((node_class, method.__func__))
        pre = None if cls.pre_processing_of_child is base_pre else cls.pre_processing_of_child
        return steps, {}, pre

    def walk(self: Any, node: Any, child_id: int, plan: Any) -> Any:
        node_class = type(node)
        known = is_node.get(node_class)
        if known is None:
            known = is_node[node_class] = isinstance(node, Node)
        if not known:
            return node
        steps, processors, pre = plan
        parent_node = node.parent
        children = node.children
        if children is not None:
            for i, child_node in enumerate(children):
                if pre is not None:
                    pre(self, node, i)
                walk(self, child_node, i, plan)
        try:
            processor = processors[node_class]
        except KeyError:
            processor = processors[node_class] = next(
                (function for cls, function in steps if issubclass(node_class, cls)), None
            )
        if processor is not None:
            node = processor(self, node)
            node.parent = parent_node
            if parent_node:
                parent_node.children[child_id] = node
        return node

    def traverse_node_recursively(self: Any, node: Any, child_id: int = -1) -> Any:
        cls = type(self)
        try:
            plan = plans[cls]
        except KeyError:
            plan = plans[cls] = plan_of(self)
        if plan is None:
            return recurse(self, node, child_id)
        return walk(self, node, child_id, plan)

    traverse_node_recursively._by_class = True  # type: ignore[attr-defined]
    traverse_node_recursively.__wrapped__ = recurse  # type: ignore[attr-defined]
    traverser.traverse_node_recursively = traverse_node_recursively

    # ``Node.find_clauses`` (the validators' count of ADD/REMOVE/SET clauses, their paths,
    # each UpdateItem's names and values used) asks two ABC isinstance questions of every
    # child that is not a clause sought: the answers are the child's class's
    find_clauses = Node.find_clauses
    descends = (ast_nodes.Expression, ast_nodes.UpdateExpressionFunction)  # type: ignore[attr-defined]
    into: dict[type, bool] = {}

    def find_clauses_by_class(self: Any, clause_types: Any) -> list[Any]:
        clauses: list[Any] = []
        for child in self.children or []:
            child_class = type(child)
            if child_class in clause_types:
                clauses.append(child)
                continue
            known = into.get(child_class)
            if known is None:
                known = into[child_class] = isinstance(child, descends)
            if known:
                clauses.extend(child.find_clauses(clause_types))
        return clauses

    find_clauses_by_class.__wrapped__ = find_clauses  # type: ignore[attr-defined]
    Node.find_clauses = find_clauses_by_class

    # the path resolver's hook before each child: whether the parent is an action, by class
    from moto.dynamodb.parsing import validators

    resolver = validators.ExpressionAttributeResolvingProcessor
    before_child = resolver.pre_processing_of_child
    actions = (
        ast_nodes.UpdateExpressionSetAction,  # type: ignore[attr-defined]
        ast_nodes.UpdateExpressionRemoveAction,  # type: ignore[attr-defined]
        ast_nodes.UpdateExpressionDeleteAction,  # type: ignore[attr-defined]
        ast_nodes.UpdateExpressionAddAction,  # type: ignore[attr-defined]
    )
    is_action: dict[type, bool] = {}

    def pre_processing_of_child(self: Any, parent_node: Any, child_id: int) -> None:
        parent_class = type(parent_node)
        known = is_action.get(parent_class)
        if known is None:
            known = is_action[parent_class] = isinstance(parent_node, actions)
        if known:
            self.resolving = child_id != 0  # the path set is not resolved, its value is

    pre_processing_of_child.__wrapped__ = before_child  # type: ignore[attr-defined]
    resolver.pre_processing_of_child = pre_processing_of_child  # type: ignore[method-assign]


_ITEM_SIZE_LIMIT: Final = 405000  # moto's LimitedSizeDict's


def _build_items_in_linear_time() -> None:
    """moto's new DynamoDB ``Item`` checks its size as ``LimitedSizeDict`` does, in one pass.

    ``LimitedSizeDict.__setitem__`` sums the sizes of every key and value already in
    the item before each insert, so building an item of n attributes (each PutItem,
    each transaction's Put) sized n(n-1)/2 values, map and list values recursively:
    ~30% of a PutItem of an order. A new item's values are new ``DynamoType``s that
    nothing changes while it is built, so a running total gives the same sum at each
    insert, and the same ``ItemSizeTooLarge`` at the same attribute. Later changes to
    an item (UpdateItem) still go through ``LimitedSizeDict.__setitem__``.
    """
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models import dynamo_type
    from moto.dynamodb.models.utilities import bytesize

    item_class = dynamo_type.Item
    if getattr(item_class.__init__, "_linear", False):
        return
    DynamoType = dynamo_type.DynamoType
    LimitedSizeDict = dynamo_type.LimitedSizeDict

    def __init__(self: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
        self.hash_key = hash_key
        self.range_key = range_key
        self.attrs = built = LimitedSizeDict()
        total = 0
        for key, value in attrs.items():
            typed = DynamoType(value)
            size = bytesize(key) + typed.size()
            if total + size > _ITEM_SIZE_LIMIT:
                raise ItemSizeTooLarge
            if key in built:  # pragma: no cover - attrs is a dict: its keys are unique
                built[key] = typed
                continue
            dict.__setitem__(built, key, typed)
            total += size

    __init__._linear = True  # type: ignore[attr-defined]
    __init__.__wrapped__ = item_class.__init__  # type: ignore[attr-defined]
    item_class.__init__ = __init__  # type: ignore[method-assign]


def _cast_scalars_directly() -> None:
    """``DynamoType.cast_value`` of a string, binary, boolean or number without asking
    the value's type five times first.

    Every look-up of an item in a table hashes its key and compares it (``__hash__`` and
    ``__eq__`` go through ``cast_value``), and moto's ``cast_value`` asks ``is_number``,
    ``is_set``, ``is_list``, ``is_map`` and ``is_null`` (each a method call) before
    answering the value itself for a string: ~2% of the process. For the scalar types
    the answer is the one those questions lead to (a number as a ``Decimal``); sets,
    lists, maps and nulls, and subclasses, go through moto's property as before.
    """
    from decimal import Decimal

    from moto.dynamodb.models import dynamo_type

    DynamoType = dynamo_type.DynamoType
    cast = DynamoType.__dict__["cast_value"]
    if getattr(cast.fget, "_scalars", False):
        return
    moto_s = cast.fget

    def cast_value(self: Any) -> Any:
        kind = self.type
        if type(self) is DynamoType:
            if kind == "S" or kind == "B" or kind == "BOOL":
                return self.value
            if kind == "N":
                return Decimal(self.value)
        return moto_s(self)

    cast_value._scalars = True  # type: ignore[attr-defined]
    cast_value.__wrapped__ = moto_s  # type: ignore[attr-defined]
    DynamoType.cast_value = property(cast_value)  # type: ignore[method-assign,assignment]


_ATTRIBUTE_VALUE_MEMBERS: Final = frozenset(
    {"S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"}
)


class _NotPlain(Exception):
    """An attribute value the fast path leaves to moto's serializer."""


def _plain_attribute_value(value: Any) -> dict[str, Any]:
    """A DynamoDB attribute value in wire form, as moto's JSON serializer writes it.

    That serializer tries each of the shape's ten members on the value (through its
    attribute picker, each name's aliases in turn), then serializes what it found by
    the member's shape: a string member as ``str`` of it, a list as a new list of its
    serialized items, a map as a new dict, a boolean as it is. For the values moto's
    DynamoDB answers with (``dynamo_to_dict``: one member, in its own name, strings,
    lists of strings, booleans, maps and lists of values) that is a copy of the value;
    anything else (blobs, which it base64-encodes, other types, other keys) raises
    ``_NotPlain`` and is serialized by moto.
    """
    if type(value) is not dict or len(value) != 1:
        raise _NotPlain
    ((name, member),) = value.items()
    kind = type(member)
    if name in ("S", "N"):
        if kind is str:
            return {name: member}
    elif name in ("SS", "NS"):
        if kind is list and all(type(text) is str for text in member):
            return {name: list(member)}
    elif name == "M":
        if kind is dict and all(type(key) is str for key in member):
            return {"M": {key: _plain_attribute_value(item) for key, item in member.items()}}
    elif name == "L":
        if kind is list:
            return {"L": [_plain_attribute_value(item) for item in member]}
    elif name in ("NULL", "BOOL") and kind is bool:
        return {name: member}
    raise _NotPlain


def _serialize_attribute_values() -> None:
    """DynamoDB's attribute values serialized without moto's generic walk of them.

    moto 5.2 serializes each answer by walking the service model: for every attribute
    value of every item, ten structure members looked up through an attribute picker.
    That walk was ~80% of a GetItem of an order (2.6 ms) and a large share of
    BatchGetItem and UpdateItem with ``ReturnValues``, for values that are already in
    their wire form. ``_plain_attribute_value`` writes the same JSON for them (it is
    tested against moto's walk); any other value takes moto's walk as before.
    """
    from moto.core import serialize

    json_serializer = serialize.BaseJSONSerializer
    structure = json_serializer._serialize_type_structure
    if getattr(structure, "_plain_values", False):
        return

    def _serialize_type_structure(
        self: Any, serialized: Any, value: Any, shape: Any, key: str
    ) -> None:
        if (
            shape.name == "AttributeValue"
            and type(value) is dict
            and shape.members.keys() == _ATTRIBUTE_VALUE_MEMBERS
            and not getattr(self._value_picker, "response_transformers", None)
        ):
            try:
                plain = _plain_attribute_value(value)
            except _NotPlain:
                pass
            else:
                if key:
                    serialized[self.get_serialized_name(shape, key)] = plain
                else:
                    serialized.update(plain)
                return
        structure(self, serialized, value, shape, key)

    _serialize_type_structure._plain_values = True  # type: ignore[attr-defined]
    _serialize_type_structure.__wrapped__ = structure  # type: ignore[attr-defined]
    json_serializer._serialize_type_structure = _serialize_type_structure  # type: ignore[method-assign]


def _parse_attribute_values() -> None:
    """DynamoDB's attribute values in a request parsed without moto's walk of the model.

    moto parses each JSON request against the service model (``parse_parameters``), an
    attribute value as a structure of ten members: each member looked up in the value,
    a string or boolean member kept as it is, a list or map made anew with each item
    parsed. For the values an application sends (strings, numbers, booleans, nulls, sets
    of strings or numbers, maps and lists of those) the answer is a copy of the value
    (``_plain_attribute_value``, which the serializer's fast path uses too); blobs
    (base64-decoded by moto) and anything else still take moto's walk.
    """
    from moto.core import parse

    json_parser = parse.JSONParser
    structure = json_parser._parse_structure
    if getattr(structure, "_plain_values", False):
        return
    plain_shapes: dict[int, tuple[Any, bool]] = {}

    def plain_shape(shape: Any) -> bool:
        found = plain_shapes.get(id(shape))
        if found is not None and found[0] is shape:
            return found[1]
        members = shape.members
        plain = (
            shape.name == "AttributeValue"
            and not shape.is_document_type
            and members.keys() == _ATTRIBUTE_VALUE_MEMBERS
            and all(members[name].serialization.get("name", name) == name for name in members)
        )
        if len(plain_shapes) >= _KEYS_KEPT:
            plain_shapes.clear()
        plain_shapes[id(shape)] = (shape, plain)
        return plain

    def _parse_structure(self: Any, shape: Any, value: Any) -> Any:
        if (
            type(value) is dict
            and type(self) is json_parser
            and self.MAP_TYPE is dict
            and shape.type_name == "structure"
            and plain_shape(shape)
        ):
            try:
                return _plain_attribute_value(value)
            except _NotPlain:
                pass
        return structure(self, shape, value)  # type: ignore[no-untyped-call]

    _parse_structure._plain_values = True  # type: ignore[attr-defined]
    _parse_structure.__wrapped__ = structure  # type: ignore[attr-defined]
    json_parser._parse_structure = _parse_structure  # type: ignore[method-assign]


def bring_up_services(services: Iterable[str], account: str, region: str) -> list[str]:
    """moto's stand-ins for ``services`` made ready in ``account`` and ``region``, as the
    services are up on AWS before any request; returns the names moto serves.

    moto builds each service at its first request: it imports the backend's module,
    makes the backend of the account and region, and parses its copy of the service
    model (SNS's, at the notification's first ``Publish``, ~5 ms of CPU in an
    execution's timeline that no AWS service spends). Done for the services the
    template's resources are granted, moto answers every request as before. Names moto
    does not know are skipped; a service moto has already built costs nothing.
    """
    from botocore.exceptions import DataNotFoundError
    from moto.backends import get_backend
    from moto.core.utils import get_service_model

    ready = []
    for name in sorted(set(services)):
        try:
            backends: Any = get_backend(name)  # type: ignore[call-overload]
            get_service_model(name)
        except (ModuleNotFoundError, AttributeError, DataNotFoundError):
            continue  # not one of moto's services, or not by botocore's name
        in_account = backends[account]
        # a global service (S3, IAM) has one backend per partition instead of regions
        in_account[region if region in in_account.regions else "global"]
        ready.append(name)
    return ready


# a name S3 accepts in every region, and moto's CreateBucket too (anything else goes
# through the API, which answers it as before)
_PLAIN_BUCKET_NAME: Final = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
# the only region where CreateBucket needs no LocationConstraint
_BUCKETS_REGION: Final = "us-east-1"


def bucket_maker(account: str, region: str) -> Callable[[str], bool] | None:
    """``make_bucket`` for ``LocalApp`` with moto in this process: a bucket made in moto's
    S3 backend as its ``CreateBucket`` handler makes it, without a client or a request.

    Provisioning ``workflows run``'s one bucket through the API built an S3 client (its
    endpoint rules and handlers) and sent one request: ~40 ms of CPU for a bucket the
    demo's executions never use. For a request without a LocationConstraint, ACL,
    object lock, ownership or namespace header (provisioning's), moto's handler calls
    ``create_bucket(name, "us-east-1")`` and, when the bucket is already the account's,
    does nothing; so does this. It returns False (leaving the bucket to the API, and its
    answer) for anything else: another region, a name that is not plainly valid, a
    bucket another account owns. None when there is no region where that holds.
    """
    if region != _BUCKETS_REGION:
        return None

    def make_bucket(name: str) -> bool:
        from moto.s3.exceptions import BucketAlreadyExists
        from moto.s3.models import s3_backends

        if not _PLAIN_BUCKET_NAME.fullmatch(name) or ".." in name:
            return False
        backend = s3_backends[account][_partition(region)]
        try:
            backend.create_bucket(name, _BUCKETS_REGION)
        except BucketAlreadyExists:
            return bool(backend.get_bucket(name).account_id == account)
        return True

    return make_bucket


def _partition(region: str) -> str:
    from moto.utilities.utils import get_partition

    return str(get_partition(region))


_ROUTES_KEPT: Final = 1024  # S3 keys are paths of their own: bounded


def thin_dispatch(dispatcher: Any) -> Any:
    """moto's ``DomainDispatcherApplication`` with Flask's request handling skipped
    where it adds nothing but CPU (the WSGI app of the services' process).

    moto serves each service with a Flask app (``create_backend_app``): its url map,
    built from the backend's ``url_paths``, routes every request to a
    ``convert_to_flask_response`` around moto's handler, and flask-cors adds the CORS
    headers. Pushing Flask's request and app contexts, its signals and its
    after-request machinery was ~6% of the process under load, for none of which
    moto's handlers look. Here the same app is chosen (``get_application``), its own
    url adapter matches the request, and the view's handler is called as
    ``convert_to_flask_response`` calls it, its answer made into the app's own response
    class. flask-cors, which moto sets up for every path and origin, adds
    ``Access-Control-Allow-Origin: *`` to an answer without one when the request has no
    ``Origin``: so is it here. Everything else goes through Flask as before: a request
    with an ``Origin`` or ``Access-Control-Request-Private-Network`` header, any
    ``OPTIONS`` or ``HEAD``, a path the map does not match (404, 405, redirects), and
    views that are not moto's handlers. An exception other than botocore's
    ``ClientError`` propagates, as from moto's Flask apps (``debug`` is on in them).

    The rule the map matched is remembered for the app, method, path and the request's
    place (scheme, host, server, root path), and so is werkzeug's URL root for the place
    (built from the same environ values): binding the map to each request and building
    the root URL (an IRI and IDNA round trip of the host) was ~4% of the process.
    """
    from botocore.exceptions import ClientError
    from flask import Flask
    from moto.core.request import normalize_request
    from moto.core.utils import convert_to_flask_response
    from moto.moto_api import recorder
    from moto.settings import DISABLE_GLOBAL_CORS
    from werkzeug.exceptions import HTTPException

    cache_host_lookups()

    # (app, method, path, place) -> the app's rule for them; place -> werkzeug's URL root
    routes: dict[tuple[Any, ...], tuple[Any, Any]] = {}
    roots: dict[tuple[Any, ...], str] = {}

    def serve(environ: dict[str, Any], start_response: Any) -> Any:
        app = dispatcher.get_application(environ)
        if (
            environ.get("REQUEST_METHOD") in ("OPTIONS", "HEAD")
            or "HTTP_ORIGIN" in environ
            or "HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK" in environ
            or not isinstance(app, Flask)
        ):
            return app(environ, start_response)
        flask_request = app.request_class(environ)
        place = (
            environ.get("wsgi.url_scheme"),
            environ.get("HTTP_HOST"),
            environ.get("SERVER_NAME"),
            environ.get("SERVER_PORT"),
            environ.get("SCRIPT_NAME"),
            flask_request.trusted_hosts,
        )
        route = (id(app), environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"), place)
        found = routes.get(route)
        if found is not None and found[0] is app:
            rule = found[1]
        else:
            try:
                adapter: Any = app.create_url_adapter(flask_request)
                rule, _ = adapter.match(return_rule=True)
            except HTTPException:
                return app(environ, start_response)
            if len(routes) >= _ROUTES_KEPT:
                routes.clear()
            routes[route] = (app, rule)
        try:
            # werkzeug's URL root (scheme, host, root path) of the same place as before
            flask_request.__dict__.setdefault("url_root", roots[place])
        except (KeyError, TypeError):
            if len(roots) >= _ROUTES_KEPT:
                roots.clear()
            with contextlib.suppress(TypeError):
                roots[place] = flask_request.url_root
        view = app.view_functions.get(rule.endpoint)
        if not isinstance(view, convert_to_flask_response):
            return app(environ, start_response)
        try:
            request = normalize_request(flask_request)
            recorder._record_request(request)
            result = view.callback(request, request.raw_url, dict(request.headers))
        except ClientError as exc:
            result = 400, {}, exc.response["Error"]["Message"]
        if len(result) == 3:
            status, headers, content = result
        else:
            status, headers, content = 200, {}, result
        response = app.response_class(response=content, status=status, headers=headers)
        if not DISABLE_GLOBAL_CORS and not response.headers.get("Access-Control-Allow-Origin"):
            response.headers.add("Access-Control-Allow-Origin", "*")
        return response(environ, start_response)

    serve.__wrapped__ = dispatcher  # type: ignore[attr-defined]
    return serve


def _authorize_without_importing() -> None:
    """moto's request authorization imports its IAM request classes only when it checks.

    Each request of moto's ``BaseResponse`` goes through
    ``_authenticate_and_authorize_normal_action`` (S3's through its own), which
    imports ``moto.iam.access_control`` (~10 ms of CPU at the first request) to hand
    its class to ``_authenticate_and_authorize_action``; that only instantiates it once
    more requests than ``INITIAL_NO_AUTH_ACTION_COUNT`` were counted (never, unless a
    test turns authorization on). The class is now imported where it is instantiated;
    moto's counting and its checks are its own. Idempotent.
    """
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.utilities.utils import get_partition

    if getattr(ActionAuthenticatorMixin._authenticate_and_authorize_normal_action, "_lazy", False):
        return

    def iam_request(*args: Any, **kwargs: Any) -> Any:
        from moto.iam.access_control import IAMRequest

        return IAMRequest(*args, **kwargs)

    def s3_iam_request(*args: Any, **kwargs: Any) -> Any:
        from moto.iam.access_control import S3IAMRequest

        return S3IAMRequest(*args, **kwargs)

    def normal_action(self: Any, resource: str = "*") -> None:
        self._authenticate_and_authorize_action(iam_request, resource)

    def s3_action(self: Any, bucket_name: str | None = None, key_name: str | None = None) -> None:
        arn = f"{bucket_name or '*'}/{key_name}" if key_name else (bucket_name or "*")
        resource = f"arn:{get_partition(self.region)}:s3:::{arn}"
        self._authenticate_and_authorize_action(s3_iam_request, resource)

    normal_action._lazy = True  # type: ignore[attr-defined]
    mixin: Any = ActionAuthenticatorMixin
    mixin._authenticate_and_authorize_normal_action = normal_action
    mixin._authenticate_and_authorize_s3_action = s3_action
