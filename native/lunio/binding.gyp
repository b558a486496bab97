{
  "targets": [
    {
      "target_name": "lunio",
      "sources": ["lunio.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}
