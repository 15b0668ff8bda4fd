#!/usr/bin/python3
"""gen-sample.py — writes the project's own sample captures to tests/data/.

sample-dsmr5.txt: ten DSMR 5.0 telegrams one second apart, as a meter with a gas sub-meter would send
them (values invented here, CRC-16/ARC computed here). Used by the README's run command and the demo.
Re-run after changing: ./scripts/gen-sample.py
"""
import os


def crc16_arc(data: bytes) -> int:
    crc = 0
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def telegram(i: int) -> bytes:
    sec = 5 + i
    import_t1 = 1234.567 + i * 0.001
    import_t2 = 2345.678
    power = 0.300 + (i % 5) * 0.111
    lines = [
        "/XMX5LGBBFG1012345678",
        "",
        "1-3:0.2.8(50)",
        f"0-0:1.0.0(2611211430{sec:02d}W)",
        "0-0:96.1.1(4530303334303031353430373737383136)",  # "E0034001540777816"
        f"1-0:1.8.1({import_t1:010.3f}*kWh)",
        f"1-0:1.8.2({import_t2:010.3f}*kWh)",
        "1-0:2.8.1(000012.345*kWh)",
        "1-0:2.8.2(000023.456*kWh)",
        "0-0:96.14.0(0002)",
        f"1-0:1.7.0({power:06.3f}*kW)",
        "1-0:2.7.0(00.000*kW)",
        "0-0:96.7.21(00004)",
        "0-0:96.7.9(00002)",
        "1-0:99.97.0(1)(0-0:96.7.19)(251014093112S)(0000000301*s)",
        "1-0:32.32.0(00000)",
        "1-0:32.36.0(00000)",
        "0-0:96.13.0()",
        "1-0:32.7.0(231.4*V)",
        "1-0:31.7.0(001*A)",
        f"1-0:21.7.0({power:06.3f}*kW)",
        "1-0:22.7.0(00.000*kW)",
        "0-1:24.1.0(003)",
        "0-1:96.1.0(4730303332353631323334353637383930)",
        "0-1:24.2.1(261121143000W)(01234.567*m3)",
        "!",
    ]
    body = "\r\n".join(lines).encode("ascii")
    return body + b"%04X\r\n" % crc16_arc(body)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = os.path.join(here, "..", "tests", "data", "sample-dsmr5.txt")
    with open(out, "wb") as f:
        for i in range(10):
            f.write(telegram(i))


if __name__ == "__main__":
    main()
