{
  "targets": [
    {
      "target_name": "coffer_native",
      "sources": ["native/utimens.c"]
    }
  ]
}
