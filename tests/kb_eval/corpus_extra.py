"""Four more sample documents: a long lab-safety PDF, a smart-lock FAQ page, an expense table, an English handbook."""

LAB_PDF = [
    "华清生物实验室安全手册\n第一章 适用范围\n本手册适用于研发中心全部生物与化学实验室，所有进入实验区的员工、"
    "实习生和外来访客都须遵守。首次进入实验室前，须完成 8 学时的安全培训并通过考试，"
    "考试成绩 80 分以上为合格。",
    "第二章 个人防护\n进入实验区必须穿着长袖实验服、佩戴护目镜，禁止穿凉鞋、拖鞋和短裤。"
    "处理腐蚀性试剂时须加戴耐酸碱手套和面屏。长发须束起，实验服不得穿出实验区，"
    "每周由后勤统一清洗一次。",
    "第三章 化学品管理\n危险化学品须存放在专用防爆柜中，并实行双人双锁管理。领用剧毒化学品须提前一天提交申请，"
    "经实验室主任签字后由两人共同领取，用量精确登记到克。过期试剂每季度集中交由有资质的单位处置，"
    "严禁倒入下水道。",
    "第四章 生物安全\n实验室按生物安全二级（BSL-2）标准运行。涉及病原微生物的操作必须在生物安全柜内进行，"
    "生物安全柜使用前须紫外照射 30 分钟。感染性废弃物须经高压灭菌（121 摄氏度、30 分钟）后方可移出实验室。",
    "第五章 仪器设备\n大型仪器须经培训考核后方可独立上机，使用前在预约系统登记机时，每人每次最多预约 4 小时。"
    "离心机运行时不得打开盖子，转子须配平，误差不超过 0.1 克。仪器出现异常须立即停机并挂上“故障停用”标牌。",
    "第六章 用电与消防\n实验室内禁止私拉电线和使用大功率电器，烘箱、马弗炉等加热设备运行时须有人值守。"
    "每个实验室配备二氧化碳灭火器和灭火毯，灭火器每月检查一次压力。"
    "消防通道和紧急喷淋装置前 1 米内禁止堆放物品。",
    "第七章 废弃物处理\n实验废液按有机、无机、含重金属三类分开收集，废液桶装到四分之三时须更换。"
    "锐器（针头、刀片、碎玻璃）须放入专用锐器盒。实验废弃物每周三下午由环保公司统一收运。",
    "第八章 事故应急\n发生化学品溅入眼睛时，立即用洗眼器连续冲洗至少 15 分钟，然后就医。"
    "皮肤被烫伤时用流动冷水冲洗 20 分钟。任何事故须在 1 小时内报告实验室安全员，"
    "并在 24 小时内提交书面事故报告。安全员值班电话为 8801。",
    "第九章 检查与考核\n安全员每周进行一次日常巡查，研发中心每季度组织一次全面安全检查。"
    "检查发现的隐患须在 7 天内整改。一年内两次违反本手册的人员将暂停实验室准入资格，"
    "重新培训合格后方可恢复。",
    "第十章 附则\n本手册由研发中心安全委员会负责解释，自 2025 年 3 月 1 日起施行，"
    "原《实验室管理暂行办法》同时废止。",
]

LOCK_HTML = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>T1 智能门锁常见问题</title></head>
<body>
<h1>T1 智能门锁常见问题</h1>
<h2>开锁方式</h2>
<p><b>问：门锁支持哪些开锁方式？</b>答：支持指纹、密码、NFC 门卡、手机 App 和机械钥匙五种方式，最多可录入 100 枚指纹和 50 组密码。</p>
<p><b>问：什么是虚位密码？</b>答：输入密码时可在正确密码前后加任意数字，总长度不超过 16 位，门锁仍能识别，防止旁人偷看。</p>
<h2>电池与供电</h2>
<p><b>问：电池能用多久？</b>答：使用 8 节 5 号碱性电池，按每天开锁 10 次计算约可使用 12 个月。</p>
<p><b>问：电池没电了怎么开门？</b>答：电量低于 20% 时门锁会语音提醒更换；完全没电时可用 Type-C 充电宝从门外应急供电后用指纹或密码开门，也可使用机械钥匙。</p>
<h2>安全</h2>
<p><b>问：连续输错密码会怎样？</b>答：连续 5 次验证失败，门锁将锁定 3 分钟并向绑定手机推送告警。</p>
<p><b>问：有人撬锁会报警吗？</b>答：门锁内置防撬传感器，检测到撬动时本地发出 90 分贝警报并推送通知。</p>
<p><b>问：门忘了关会提醒吗？</b>答：开启“未关门提醒”后，门虚掩超过 60 秒会语音提示并推送消息。</p>
<h2>安装与售后</h2>
<p><b>问：我家的门能装吗？</b>答：适用于厚度 40 至 120 毫米的木门、钢木门和防盗门，玻璃门和铝合金窄边框门暂不支持。</p>
<p><b>问：安装收费吗？</b>答：购买后 30 天内预约上门安装免费，偏远地区另收 80 元远程费。</p>
<p><b>问：保修多久？</b>答：整机保修 3 年，电池等耗材不在保修范围内。</p>
<h2>App 与网络</h2>
<p><b>问：门锁需要连 Wi-Fi 吗？</b>答：门锁通过配套网关连接 2.4GHz Wi-Fi，不支持 5GHz 网络；不联网也能正常开锁。</p>
<p><b>问：可以给保洁阿姨临时开门权限吗？</b>答：在 App 中生成临时密码，可设置为一次性有效或在指定时间段内有效，最长 7 天。</p>
<p><b>问：开门记录能保存多久？</b>答：App 中可查询最近 180 天的开门记录。</p>
</body></html>
"""

EXPENSE_CSV = """城市类别,适用城市,职级,住宿上限（元/晚）,伙食补助（元/天）,市内交通（元/天）
一类,北京、上海、深圳,普通员工,500,100,80
一类,北京、上海、深圳,经理及以上,800,150,120
二类,广州、杭州、南京、成都,普通员工,400,80,60
二类,广州、杭州、南京、成都,经理及以上,650,120,100
三类,其他省会城市,普通员工,350,70,50
三类,其他省会城市,经理及以上,550,100,80
四类,其他地区,普通员工,280,60,40
四类,其他地区,经理及以上,450,80,60
境外,中国香港、澳门、台湾及海外,普通员工,1200,300,200
境外,中国香港、澳门、台湾及海外,经理及以上,1800,400,300
"""

HANDBOOK_EN_DOCX = [
    (
        1,
        "Northwind Labs Employee Handbook",
        [
            "This handbook applies to all employees of Northwind Labs in the United Kingdom and "
            "Ireland from 1 April 2025."
        ],
    ),
    (1, "Working hours", []),
    (
        2,
        "Core hours",
        [
            "Core hours are 10:00 to 16:00, Monday to Friday. Outside core hours you may arrange "
            "your day with your team lead."
        ],
    ),
    (
        2,
        "Overtime",
        [
            "Overtime must be approved in advance by your manager. Approved overtime is paid at "
            "1.5 times the hourly rate, or taken as time off in lieu within three months."
        ],
    ),
    (1, "Leave", []),
    (
        2,
        "Annual leave",
        [
            "Full-time employees receive 25 days of annual leave plus public holidays. Up to five "
            "unused days may be carried over to the next year and must be used by 31 March."
        ],
    ),
    (
        2,
        "Sick leave",
        [
            "If you are ill, tell your manager before 10:00 on the first day. A fit note from a "
            "doctor is required for absences longer than seven calendar days."
        ],
    ),
    (
        2,
        "Parental leave",
        [
            "Birth parents receive 26 weeks of fully paid leave. Partners receive four weeks of "
            "fully paid leave, to be taken within the first year."
        ],
    ),
    (1, "Pay and benefits", []),
    (
        2,
        "Payday",
        [
            "Salaries are paid on the 25th of each month; if the 25th falls on a weekend, on the "
            "Friday before."
        ],
    ),
    (2, "Pension", ["Northwind matches pension contributions up to 6% of base salary."]),
    (
        2,
        "Learning budget",
        [
            "Every employee has a learning budget of £1,000 per year for courses, books and "
            "conferences. Unused budget does not roll over."
        ],
    ),
    (
        1,
        "Equipment",
        [
            "New starters receive a laptop on their first day. Laptops are replaced every three "
            "years. Report a lost or stolen device to the IT service desk within four hours."
        ],
    ),
    (1, "Conduct", []),
    (
        2,
        "Gifts",
        [
            "You may accept gifts from suppliers worth up to £50. Anything above that must be "
            "declared to the compliance team within five working days."
        ],
    ),
    (
        2,
        "Raising concerns",
        [
            "Concerns about wrongdoing can be raised anonymously through the Speak Up line, which "
            "is run by an independent company."
        ],
    ),
    (
        1,
        "Leaving",
        [
            "The notice period is one month during probation and three months after it. Return "
            "all equipment on your last working day."
        ],
    ),
]
