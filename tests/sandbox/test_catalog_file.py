"""The apps' data files: what a person writes there becomes objects and derived actions, and a
mistake is reported with the file and the entry."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from membrane_sandbox.apps import load_apps
from membrane_sandbox.apps.catalog_file import CatalogFileError, _DataLoader, build_catalog

APP = """
key: shop
name: Shop
description: A small shop.
logo_uri: https://example.test/logo.png
base_url: https://shop.example.test/api
id_field: {label: ID, type: integer}
common_fields:
  createdAt: {label: Created At, type: datetime, readonly: true}
record_actions:
  id_schema: {type: integer, minimum: 1}
picklists:
  sizes: [S, M, L]
objects:
  product:
    label: Products
    singular: product
    plural: products
    name_field: title
    searchable: true
    fields:
      title: {label: Title, type: string, required: true}
      size: {label: Size, type: picklist, picklist: sizes}
      switch: {label: Switch, type: picklist, picklist: [on, off, No]}
  settings:
    label: Settings
    singular: settings
    plural: settings
    name_field: currency
    ops: [get, update]
    extra: {singleton_id: main}
    common_fields: []
    fields:
      currency: {label: Currency, type: string}
operations:
  - key: count-everything
    name: Count Everything
    type: connector-operation
    op: count-all
    description: "Counts records of ${object_list}."
    input_schema:
      type: object
      properties:
        object: {type: string, enum: "${objects}"}
    output_schema: {type: object}
"""


def values(objects: Any) -> dict[str, Any]:
    return {"objects": [o.key for o in objects], "object_list": [o.label for o in objects]}


def load(text: str = APP, **edits: Any) -> Any:
    data = yaml.load(text, Loader=_DataLoader)  # _DataLoader is a safe loader
    data.update(edits)
    return build_catalog(data, "catalogs/shop.yaml", values)


def test_objects_take_the_id_field_their_own_fields_and_the_common_ones() -> None:
    catalog = load()
    product, settings = catalog.objects
    assert [f.name for f in product.fields] == ["id", "title", "size", "switch", "createdAt"]
    assert product.fields[0].readonly and product.fields[0].type == "integer"
    assert product.field("size").picklist == ("S", "M", "L")  # a named picklist
    assert product.field("switch").picklist == ("on", "off", "No")  # YAML 1.1 booleans stay text
    assert [f.name for f in settings.fields] == ["id", "currency"]


def test_record_actions_are_derived_per_object_and_operations_are_filled_in() -> None:
    catalog = load()
    assert [a.key for a in catalog.actions] == [
        "list-products",
        "get-product",
        "create-product",
        "update-product",
        "delete-product",
        "search-products",
        "get-settings",
        "update-settings",
        "count-everything",
    ]
    by_key = {a.key: a for a in catalog.actions}
    create = by_key["create-product"].input_schema
    assert create["required"] == ["title"]
    assert create["properties"]["size"]["enum"] == ["S", "M", "L"]
    assert by_key["get-product"].input_schema["properties"]["id"]["type"] == "integer"
    assert "id" not in by_key["update-settings"].input_schema["properties"]
    assert by_key["get-settings"].impl == {"op": "get", "object": "settings", "id": "main"}
    operation = by_key["count-everything"]
    assert operation.description == "Counts records of Products, Settings."
    assert operation.input_schema["properties"]["object"]["enum"] == ["product", "settings"]
    assert operation.impl == {"op": "count-all"}


def test_a_field_added_to_the_file_reaches_the_actions() -> None:
    text = APP.replace(
        "      size: {label: Size, type: picklist, picklist: sizes}\n",
        "      size: {label: Size, type: picklist, picklist: sizes}\n"
        "      price: {label: Price, type: currency, required: true}\n",
    )
    create = {a.key: a for a in load(text).actions}["create-product"].input_schema
    assert create["required"] == ["title", "price"]
    assert create["properties"]["price"]["type"] == "number"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "{label: Title, type: string, required: true}",
            "{lable: Title, type: string}",
            "unknown key(s) lable",
        ),
        ("picklist: sizes}", "picklist: colours}", "no picklist named 'colours'"),
        ("type: picklist, picklist: [on", "type: pick, picklist: [on", "'pick' is not one of"),
        ("[S, M, L]", "[S, M, 3]", "3 is not a string; quote it"),
        ("name_field: title", "name_field: name", "no field 'name'"),
        ('enum: "${objects}"', 'enum: "${things}"', "unknown placeholder ${things}"),
        ("ops: [get, update]", "ops: [get, rename]", "unknown rename"),
    ],
)
def test_a_mistake_names_the_file_and_the_entry(old: str, new: str, message: str) -> None:
    assert old in APP
    with pytest.raises(CatalogFileError) as caught:
        load(APP.replace(old, new, 1))
    assert message in str(caught.value) and str(caught.value).startswith("catalogs/shop.yaml")


def test_the_real_apps_load_with_every_reference_resolved() -> None:
    apps = load_apps()
    counts = {key: len(app.actions()) for key, app in apps.items()}
    assert counts == {"vtiger": 8, "1crm": 209, "bigtincan": 31}
    for app in apps.values():
        keys = {o.key for o in app.catalog.objects}  # type: ignore[attr-defined]
        for obj in app.catalog.objects:  # type: ignore[attr-defined]
            assert all(ref in keys for f in obj.fields for ref in f.ref)
        for spec in app.actions():
            assert "${" not in str(spec.input_schema) + str(spec.output_schema) + spec.description
