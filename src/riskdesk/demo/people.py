"""Hong Kong style client names, e-mails and phone numbers for the demo broker.

E-mail addresses use only the domains reserved for examples (RFC 2606), so a demo that is
wired to a real SMTP relay cannot write to a stranger.
"""

import numpy as np

# traditional, simplified, Cantonese romanisation, pinyin
SURNAMES = [
    ("陳", "陈", "Chan", "Chen"), ("李", "李", "Lee", "Li"), ("張", "张", "Cheung", "Zhang"),
    ("黃", "黄", "Wong", "Huang"), ("王", "王", "Wong", "Wang"), ("林", "林", "Lam", "Lin"),
    ("劉", "刘", "Lau", "Liu"), ("吳", "吴", "Ng", "Wu"), ("何", "何", "Ho", "He"),
    ("梁", "梁", "Leung", "Liang"), ("郭", "郭", "Kwok", "Guo"), ("馬", "马", "Ma", "Ma"),
    ("羅", "罗", "Law", "Luo"), ("周", "周", "Chow", "Zhou"), ("鄭", "郑", "Cheng", "Zheng"),
    ("謝", "谢", "Tse", "Xie"), ("蔡", "蔡", "Choi", "Cai"), ("曾", "曾", "Tsang", "Zeng"),
    ("麥", "麦", "Mak", "Mai"), ("袁", "袁", "Yuen", "Yuan"), ("葉", "叶", "Yip", "Ye"),
    ("鄧", "邓", "Tang", "Deng"), ("許", "许", "Hui", "Xu"), ("蘇", "苏", "So", "Su"),
    ("朱", "朱", "Chu", "Zhu"), ("胡", "胡", "Wu", "Hu"), ("楊", "杨", "Yeung", "Yang"),
    ("趙", "赵", "Chiu", "Zhao"), ("徐", "徐", "Tsui", "Xu"), ("孫", "孙", "Suen", "Sun"),
]  # fmt: skip

GIVEN = [
    ("大", "大", "Tai", "Da"), ("文", "文", "Man", "Wen"), ("偉", "伟", "Wai", "Wei"),
    ("明", "明", "Ming", "Ming"), ("志", "志", "Chi", "Zhi"), ("家", "家", "Ka", "Jia"),
    ("嘉", "嘉", "Ka", "Jia"), ("美", "美", "Mei", "Mei"), ("玲", "玲", "Ling", "Ling"),
    ("麗", "丽", "Lai", "Li"), ("華", "华", "Wah", "Hua"), ("國", "国", "Kwok", "Guo"),
    ("俊", "俊", "Chun", "Jun"), ("傑", "杰", "Kit", "Jie"), ("詩", "诗", "Sze", "Shi"),
    ("欣", "欣", "Yan", "Xin"), ("君", "君", "Kwan", "Jun"), ("思", "思", "Sze", "Si"),
    ("子", "子", "Tsz", "Zi"), ("浩", "浩", "Ho", "Hao"), ("健", "健", "Kin", "Jian"),
    ("永", "永", "Wing", "Yong"), ("英", "英", "Ying", "Ying"), ("敏", "敏", "Man", "Min"),
    ("慧", "慧", "Wai", "Hui"), ("婷", "婷", "Ting", "Ting"), ("琪", "琪", "Kei", "Qi"),
    ("峰", "峰", "Fung", "Feng"), ("軒", "轩", "Hin", "Xuan"), ("宇", "宇", "Yu", "Yu"),
    ("晴", "晴", "Ching", "Qing"), ("穎", "颖", "Wing", "Ying"), ("雅", "雅", "Nga", "Ya"),
    ("耀", "耀", "Yiu", "Yao"), ("輝", "辉", "Fai", "Hui"), ("德", "德", "Tak", "De"),
]  # fmt: skip

ENGLISH = [
    "Peter", "Mary", "David", "Karen", "Michael", "Winnie", "Kelvin", "Ivy", "Raymond", "Cherry",
    "Alan", "Joyce", "Eric", "Fiona", "Jason", "Carmen", "Kenneth", "Gloria", "Vincent", "Candy",
    "Tommy", "Sharon", "Stephen", "Queenie", "Anthony", "Yvonne", "Gary", "Phoebe", "Wilson",
    "Janice", "Patrick", "Maggie", "Edmond", "Heidi", "Dickson", "Kitty",
]  # fmt: skip

_DOMAINS = ["example.com", "example.net", "example.org", "mail.example.com"]

LANGUAGES = ["zh-hant", "zh-hans", "en"]
LANGUAGE_P = [0.55, 0.30, 0.15]


def make_people(rng: np.random.Generator, numbers: np.ndarray) -> tuple[list, list, list, list]:
    """Names, languages, e-mails and phones for clients numbered ``numbers`` (1-based)."""
    n = len(numbers)
    lang = rng.choice(3, size=n, p=LANGUAGE_P).tolist()
    sur = rng.integers(0, len(SURNAMES), n).tolist()
    g1 = rng.integers(0, len(GIVEN), n).tolist()
    g2 = rng.integers(0, len(GIVEN), n).tolist()
    eng = rng.integers(0, len(ENGLISH), n).tolist()
    use_eng = (rng.random(n) < 0.6).tolist()
    dom = rng.integers(0, len(_DOMAINS), n).tolist()
    hk_phone = rng.integers(0, 10_000_000, n).tolist()
    hk_prefix = rng.choice([5, 6, 9], size=n).tolist()
    cn_phone = rng.integers(0, 100_000_000, n).tolist()
    cn_prefix = rng.choice([135, 136, 138, 139, 150, 158, 186, 188], size=n).tolist()
    names, langs, emails, phones = [], [], [], []
    for i, num in enumerate(numbers.tolist()):
        s = SURNAMES[sur[i]]
        a, b = GIVEN[g1[i]], GIVEN[g2[i]]
        code = lang[i]
        if code == 1:  # mainland client: simplified characters and pinyin
            names.append(f"{s[1]}{a[1]}{b[1]} {s[3]} {a[3]}{b[3].lower()}")
            local = f"{s[3]}{a[3]}{b[3]}".lower()
            phones.append(
                f"+86 {cn_prefix[i]} {cn_phone[i] // 10000:04d} {cn_phone[i] % 10000:04d}"
            )
        else:
            first = ENGLISH[eng[i]] if (code == 2 or use_eng[i]) else ""
            roman = f"{s[2].upper()} {a[2]} {b[2]}"
            if code == 2:
                names.append(f"{first} {s[2]} {a[2]} {b[2]}")
            else:
                names.append(f"{s[0]}{a[0]}{b[0]} {roman}{', ' + first if first else ''}")
            local = f"{(first or a[2] + b[2]).lower()}.{s[2].lower()}"
            phone = hk_prefix[i] * 10_000_000 + hk_phone[i]
            phones.append(f"+852 {phone // 10000:04d} {phone % 10000:04d}")
        langs.append(LANGUAGES[code])
        emails.append(f"{local}{num}@{_DOMAINS[dom[i]]}")
    return names, langs, emails, phones
