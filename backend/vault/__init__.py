"""The Vault beyond the trainer's folder: ledger queries, zones (the trainer, storage folders) and
verified, resumable transfers of checkpoints between them."""
