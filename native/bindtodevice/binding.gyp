{
  "targets": [
    {
      "target_name": "bindtodevice",
      "sources": ["bindtodevice.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}
