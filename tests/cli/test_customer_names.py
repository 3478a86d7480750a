"""A customer named on the partner command line: by id, or by its name or a part of it."""

import pytest
import typer

from backupjobs.cli.client.session import find_customer
from backupjobs.sdk import Customer

CUSTOMERS = [
    Customer("c823f411-f0b7-4d55-893c-3fbdfb31a36d", "Northwind Traders", None, None, None),
    Customer("0c9e4a8e-1e0e-4a40-9f57-2f1e3c1d6a01", "Fabrikam", None, None, None),
    Customer("5b1c2d3e-4f50-4617-8a9b-0c1d2e3f4a5b", "Fabrikam Residences", None, None, None),
    Customer("9a8b7c6d-5e4f-4321-8fed-cba987654321", "Contoso Pharmaceuticals", None, None, None),
    Customer("1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b", "Adventure Works", None, None, None),
]


def named(wanted):
    return find_customer(CUSTOMERS, wanted).name


@pytest.mark.parametrize(
    ("wanted", "name"),
    [
        ("Northwind", "Northwind Traders"),  # the README's example against the demo
        ("northwind traders", "Northwind Traders"),
        ("  NORTHWIND   traders ", "Northwind Traders"),
        ("pharma", "Contoso Pharmaceuticals"),  # a part of the name
        ("Fabrikam", "Fabrikam"),  # an exact name wins over a longer one starting with it
        ("fabrikam r", "Fabrikam Residences"),
        ("C823F411-F0B7-4D55-893C-3FBDFB31A36D", "Northwind Traders"),  # an id, any case
    ],
)
def test_a_unique_prefix_or_part_of_a_name_names_the_customer(wanted, name):
    assert named(wanted) == name


def test_a_start_shared_by_several_customers_is_an_error_listing_them(capsys):
    with pytest.raises(typer.Exit) as raised:
        find_customer(CUSTOMERS, "fab")
    assert raised.value.exit_code == 2
    said = capsys.readouterr().err
    assert "2 customers whose name starts with 'fab'" in said
    assert "Fabrikam (0c9e4a8e-1e0e-4a40-9f57-2f1e3c1d6a01)" in said
    assert "Fabrikam Residences (5b1c2d3e-4f50-4617-8a9b-0c1d2e3f4a5b)" in said


def test_a_part_of_several_names_is_an_error_listing_them(capsys):
    with pytest.raises(typer.Exit):
        find_customer(CUSTOMERS, "o")  # in Northwind, Contoso, Adventure Works
    said = capsys.readouterr().err
    assert "3 customers whose name contains 'o'" in said


def test_no_customer_found_says_so_and_lists_nothing(capsys):
    with pytest.raises(typer.Exit) as raised:
        find_customer(CUSTOMERS, "Tailspin")
    assert raised.value.exit_code == 2
    said = capsys.readouterr().err
    assert "no customer 'Tailspin' visible to this app" in said
    assert "Fabrikam" not in said
