{
  "targets": [
    {
      "target_name": "icmp6",
      "sources": ["icmp6.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}
