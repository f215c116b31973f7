"""The US federal AI use case inventories (OMB), read as published and written back.

Two formats, named on the command line with ``--format``:

- ``omb-2025`` — the 2025 inventory (``federal_ai_use_cases.csv``): 36 columns, one use case
  a row, an ``id`` per agency that is blank or repeated in places.
- ``omb-2024`` — the 2024 inventory (``federal_ai_use_cases_2024.csv``): 62 columns headed by
  the questions themselves (some headers repeat), no id, no contact, and a date per stage.

Each direction and each rule has its module:

- `mapping`: the formats' columns and stages, and how a cell becomes a Last Mile value
  (and back);
- `keys`: the stable key (``external_id``) of a row;
- `high_impact`: the 2025 high-impact columns, read into the OMB determination and the minimum
  practices, and written back;
- `importer`: reading the file as published and importing it (`import_federal`);
- `exporter`: writing the 2025 columns back (`export_federal`);
- `reports`: linking a 2025 row to its 2024 row, so its stage history reaches back.
"""
