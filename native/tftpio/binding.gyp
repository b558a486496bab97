{
  "targets": [
    {
      "target_name": "tftpio",
      "sources": ["tftpio.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}
