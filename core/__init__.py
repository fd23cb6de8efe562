"""Building blocks that several apps use: the card-number guard, money, the POS
slip's fields and the admin for tables of millions of rows. Nothing here
imports an app of the project."""
