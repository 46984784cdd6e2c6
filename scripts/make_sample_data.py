"""Generate the project's small, hand-written sample data under ``data/01_raw``.

This script wrote the sample files that ship with the repository. It is NOT needed at
run time (the pipelines read the files it wrote); it is kept so the sample can be
regenerated or extended. All text below was written for this project; none of it is
taken from the EmpatheticDialogues or EPITOME releases. Only the file *formats* follow
the original releases.

Outputs (overwritten on every run; the output is deterministic):

* ``data/01_raw/empatheticdialogues/{train,valid,test}.csv`` - EmpatheticDialogues
  (FAIR release format): header
  ``conv_id,utterance_idx,context,prompt,speaker_idx,utterance,selfeval,tags``, fields
  never quoted, commas inside a field written ``_comma_``. All 32 emotion labels;
  per label 4 conversations in train, 2 in valid, 2 in test. One train conversation
  has a single turn on purpose (the pipeline drops it as too short).
* ``data/01_raw/epitome/{emotional-reactions,interpretations,explorations}-reddit.csv``
  - EPITOME format: header ``id,sp_id,rp_id,seeker_post,response_post,level,rationales``,
  standard CSV quoting, the same 120 (seeker, response) pairs in each file.

Usage::

    python scripts/make_sample_data.py            # writes into ./data/01_raw
    python scripts/make_sample_data.py --out DIR  # writes into DIR
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import string
from pathlib import Path

ED_HEADER = "conv_id,utterance_idx,context,prompt,speaker_idx,utterance,selfeval,tags"
ED_LABELS = (
    "afraid angry annoyed anticipating anxious apprehensive ashamed caring confident content devastated "
    "disappointed disgusted embarrassed excited faithful furious grateful guilty hopeful impressed jealous "
    "joyful lonely nostalgic prepared proud sad sentimental surprised terrified trusting"
).split()
ED_SPLITS = (("train", 4), ("valid", 2), ("test", 2))  # conversations per label, in source order
SELFEVAL_POOL = ["5|5|5_5|5|5"] * 10 + [
    "5|5|5_4|5|5", "4|5|5_5|5|5", "5|5|5_4|4|4", "5|5|5_4|4|5", "4|4|4_5|5|5", "5|4|5_5|5|5", "3|4|5_5|5|4",
]
EPITOME_FILES = {
    "ER": "emotional-reactions-reddit.csv",
    "IP": "interpretations-reddit.csv",
    "EX": "explorations-reddit.csv",
}
EPITOME_HEADER = ["id", "sp_id", "rp_id", "seeker_post", "response_post", "level", "rationales"]
SPAN = re.compile(r"\[(ER|IP|EX)([12]):(.+?)\]")


# --------------------------------------------------------------------------------------------------
# EmpatheticDialogues
# --------------------------------------------------------------------------------------------------
def parse_ed_source(source: str) -> dict[str, list[tuple[str, list[str]]]]:
    """``== label`` starts a label; conversations are blank-line separated; ``> `` marks the prompt."""
    conversations: dict[str, list[tuple[str, list[str]]]] = {}
    label = None
    for block in re.split(r"\n\s*\n", source.strip()):
        lines = [line.strip() for line in block.strip().splitlines() if line.strip()]
        if lines and lines[0].startswith("== "):
            label = lines.pop(0)[3:].strip()
            conversations.setdefault(label, [])
        if not lines:
            continue
        assert label is not None and lines[0].startswith("> "), block
        prompt, turns = lines[0][2:].strip(), lines[1:]
        assert turns, block
        conversations[label].append((prompt, turns))
    return conversations


def ed_field(text: str) -> str:
    assert "_comma_" not in text and "\n" not in text and "\r" not in text, text
    return text.replace(",", "_comma_")


def write_ed(out_dir: Path) -> None:
    conversations = parse_ed_source(ED_SOURCE)
    assert sorted(conversations) == sorted(ED_LABELS), sorted(set(conversations) ^ set(ED_LABELS))
    per_label = sum(n for _, n in ED_SPLITS)
    for label, convs in conversations.items():
        assert len(convs) == per_label, (label, len(convs))

    rng = random.Random(20240611)
    total = len(ED_LABELS) * per_label
    hits = rng.sample(range(3, 12000), total)  # unique HIT numbers across all three files
    hit_iter = iter(hits)
    out_dir.mkdir(parents=True, exist_ok=True)
    start = 0
    for split, n in ED_SPLITS:
        records = []
        for label in ED_LABELS:
            for prompt, turns in conversations[label][start:start + n]:
                hit = next(hit_iter)
                conv_id = f"hit:{hit}_conv:{2 * hit + rng.randint(0, 1)}"
                speaker, listener = rng.sample(range(0, 640), 2)
                selfeval = "" if rng.random() < 0.04 else rng.choice(SELFEVAL_POOL)
                records.append((hit, conv_id, label, prompt, turns, speaker, listener, selfeval))
        start += n
        records.sort(key=lambda r: r[0])  # the release is ordered by HIT
        lines = [ED_HEADER]
        for _, conv_id, label, prompt, turns, speaker, listener, selfeval in records:
            for idx, turn in enumerate(turns, start=1):
                who = speaker if idx % 2 == 1 else listener
                fields = [conv_id, str(idx), label, ed_field(prompt), str(who), ed_field(turn), selfeval, ""]
                assert len(",".join(fields).split(",")) == 8
                lines.append(",".join(fields))
        path = out_dir / f"{split}.csv"
        with path.open("w", encoding="utf-8", newline="\n") as handle:
            handle.write("\n".join(lines) + "\n")
        print(f"wrote {path}: {len(records)} conversations, {len(lines) - 1} rows")


# --------------------------------------------------------------------------------------------------
# EPITOME
# --------------------------------------------------------------------------------------------------
def parse_epitome_source(source: str) -> list[tuple[str, str]]:
    """Blank-line separated ``S:``/``R:`` pairs; ``S: =N`` reuses the seeker post of pair N (1-based)."""
    pairs: list[tuple[str, str]] = []
    for block in re.split(r"\n\s*\n", source.strip()):
        lines = [line.strip() for line in block.strip().splitlines() if line.strip()]
        assert len(lines) == 2 and lines[0].startswith("S: ") and lines[1].startswith("R: "), block
        pairs.append((lines[0][3:].strip(), lines[1][3:].strip()))
    return pairs


def _reddit_id(rng: random.Random, length: int, used: set[str]) -> str:
    alphabet = string.digits + string.ascii_lowercase
    while True:
        value = rng.choice(string.digits[1:] + "abcdef") + "".join(rng.choice(alphabet) for _ in range(length - 1))
        if value not in used:
            used.add(value)
            return value


def write_epitome(out_dir: Path) -> None:
    pairs = parse_epitome_source(EPITOME_SOURCE)
    rng = random.Random(20240612)
    used: set[str] = set()
    seeker_ids: list[str] = []
    seeker_texts: list[str] = []
    rows = {mech: [] for mech in EPITOME_FILES}
    for seeker, marked in pairs:
        if seeker.startswith("="):
            ref = int(seeker[1:]) - 1
            sp_id, seeker = seeker_ids[ref], seeker_texts[ref]
        else:
            sp_id = _reddit_id(rng, 6, used)
        seeker_ids.append(sp_id)
        seeker_texts.append(seeker)
        rp_id = _reddit_id(rng, 7, used)
        response = re.sub(r"\s+", " ", SPAN.sub(lambda m: m.group(3), marked)).strip()
        assert "[" not in response and "]" not in response, marked
        spans = {mech: [] for mech in EPITOME_FILES}
        levels = {mech: 0 for mech in EPITOME_FILES}
        for match in SPAN.finditer(marked):
            mech, level, text = match.group(1), int(match.group(2)), match.group(3).strip()
            assert text in response
            spans[mech].append(text)
            levels[mech] = max(levels[mech], level)
        for mech in EPITOME_FILES:
            rationale = "".join(span + "|" for span in spans[mech])
            rows[mech].append([f"{sp_id}_{rp_id}", sp_id, rp_id, seeker, response, levels[mech], rationale])
    out_dir.mkdir(parents=True, exist_ok=True)
    for mech, filename in EPITOME_FILES.items():
        path = out_dir / filename
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(EPITOME_HEADER)
            writer.writerows(rows[mech])
        counts = {level: sum(1 for row in rows[mech] if row[5] == level) for level in (0, 1, 2)}
        print(f"wrote {path}: {len(rows[mech])} pairs, levels {counts}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "data" / "01_raw")
    args = parser.parse_args()
    write_ed(args.out / "empatheticdialogues")
    write_epitome(args.out / "epitome")


# --------------------------------------------------------------------------------------------------
# Hand-written content. Every label has 8 conversations: the first 4 go to train, then 2 to valid,
# then 2 to test. Plain commas are fine here; they are escaped as _comma_ on output.
# --------------------------------------------------------------------------------------------------
ED_SOURCE = r"""
== afraid
> I heard footsteps downstairs late at night when I was home alone.
I was home alone last night and heard someone walking around downstairs.
Oh no, that would terrify me. What did you do?
I grabbed my phone and hid in the closet. It turned out to be my brother coming home early.
Ha, what a relief! I'd still have had trouble falling asleep after that.

> My flight hit really bad turbulence over the ocean.
Our plane dropped so suddenly on the way to Lisbon that people screamed.
That sounds frightening. Are you normally okay with flying?
I used to be, but now I'm dreading the flight home next week.
That's completely understandable. Maybe a seat over the wing would help, it's supposed to be smoother there.

> A big dog got loose and chased me while I was jogging.
A huge dog chased me for a whole block this morning while I was out running.
Yikes! Did it catch up to you?
No, the owner finally called it back, but my heart was pounding for an hour.
I'd be shaken up too. I was bitten as a kid, so I totally get that fear.

> I had to walk through a dark parking garage alone after work.
The lights were out in the parking garage tonight and I had to walk to my car alone.
That sounds so creepy. Were there other people around?
Not a soul. I practically ran the whole way with my keys between my fingers.
Good thinking. You should tell building management so they fix the lights.
I already emailed them. Hopefully they listen.

> The doctor's office called me back in to look at my scans again.
My doctor's office called and asked me to come back in to go over my scans.
That must be nerve-wracking. Did they say why?
No, just that they wanted to talk in person. I can't stop imagining the worst.
Waiting is the hardest part. I hope it ends up being something minor.

> During the storm a tree branch crashed through our window.
A branch came right through our bedroom window during the storm last night.
Oh my gosh, is everyone alright?
Yes, thankfully. But the sound of the glass breaking is still stuck in my head.

> I thought I lost my little girl at the fair.
I turned around at the county fair and my daughter was just gone.
That's every parent's nightmare. Did you find her quickly?
After about ten minutes. She was watching the pig races like nothing happened.
Kids have no idea how much they scare us. I'm glad she was safe.

> I heard a scratching noise inside the walls of my apartment.
Something keeps scratching inside my bedroom wall at night.
Ugh, that would creep me out. Do you think it's mice?
I hope so. My neighbor said "it could be rats" and now I can't sleep.
Call the landlord tomorrow. No one should have to listen to that all night.

== angry
> My roommate ate the leftovers I was saving for lunch.
I came home starving and my roommate had eaten the leftovers I clearly labeled with my name.
That's so inconsiderate. Has he done this before?
All the time. He always says he'll replace it and never does.
I'd be mad too. Maybe it's time to get a mini fridge for your room.

> Someone keyed my car in the grocery store parking lot.
Someone scratched a long line down the side of my car while I was shopping.
Seriously? Who does that?
I have no idea. There aren't even cameras in that lot.
That's maddening. I'm sorry you have to pay to fix someone else's meanness.

> My coworker took credit for my idea in a meeting.
My coworker presented my project idea to our boss as if it were his own.
Wow, that would make my blood boil. Did you say anything?
Not in the meeting. I was too shocked to speak.
That's understandable. Do you have emails that show it was your idea?
Yes, I do. I'm going to forward them to my manager tomorrow.
Good for you. Don't let him get away with it.

> The mechanic charged me twice what he quoted.
The mechanic quoted me two hundred dollars and then handed me a bill for four hundred.
That's not okay. Did he explain the difference?
He said he found other problems, but he never called to ask me first.

> My brother borrowed my laptop and broke the screen.
My brother borrowed my laptop for one weekend and returned it with a cracked screen.
Oh no. Is he going to pay for it?
He says it was already like that, which is a total lie.
That's the worst part, when they won't own up to it. I'd be angry too.

> A driver cut me off and then yelled at me.
A guy cut me off on the highway and then had the nerve to yell at me.
Some people are unbelievable. Were you okay?
Yes, but I was shaking with anger for the rest of the drive.
I get that. Other people's road rage really sticks with you.

> My landlord entered my apartment without telling me.
I came home and found out my landlord had been inside my apartment without any notice.
That's a huge invasion of privacy. How did you find out?
He left a note saying he "checked the smoke detectors". I never agreed to that.
I'd be livid. I think in most places they legally have to give notice.

> The airline lost my luggage and was rude about it.
The airline lost my suitcase and the agent basically shrugged at me.
Ugh, that's so frustrating. Did they at least give you a claim number?
Eventually. After I asked three times.
I'm sorry. Keep every receipt for the things you have to buy in the meantime.

== annoyed
> My neighbor's dog barks every morning at 5am.
My neighbor's dog starts barking at five every single morning.
That would drive me crazy. Have you talked to them?
I've tried twice. They just say he's a puppy and he'll grow out of it.
Maybe earplugs until then? That sounds exhausting.

> My coworker chews gum loudly right next to me.
The guy who sits next to me chews gum with his mouth open all day.
Oh, that's one of my pet peeves! How do you focus?
Headphones. Lots of headphones.

> The internet went out again in the middle of my online class.
My internet dropped for the third time this week in the middle of my online class.
That's so annoying. Is it your provider?
Yes, and every time I call they tell me to restart the router.
Classic. Maybe ask about switching to a different plan or provider.

> My sister always borrows my clothes without asking.
I found my favorite sweater in my sister's laundry pile again.
Did she even ask to borrow it?
Never. She says we're family, so it doesn't count.
I have a sister like that too. A lock on the closet worked wonders for me.

> People in my building never pick up after their dogs.
I stepped in dog mess on the sidewalk in front of my building again today.
Gross! That would ruin my whole morning.
It did. It's always the same spot too.
Maybe put up a sign? Sometimes people just need a reminder.

> My phone keeps autocorrecting my own name.
My phone keeps changing my own name to "Jazz" every time I type it.
Ha! That's annoying but kind of funny. Can you add it to the dictionary?
I tried, but it goes back to doing it after every update.
Technology is supposed to make life easier. Sorry it's being so stubborn.

> The person in front of me at the store paid for everything in coins.
The lady ahead of me at the store counted out her whole bill in pennies.
Oh no. How long did that take?
Almost ten minutes, and I was already late for work.

> My coworker replies all to every company email.
Someone in my office hits reply all on every single company-wide email.
That is so irritating. Does anyone say anything?
My manager finally did, but he did it with reply all too.
Ha! That's ironic. At least it might stop now.

== anticipating
> I'm waiting to hear back about a job interview.
I had my final interview on Tuesday and they said I'd hear back by Friday.
That's exciting! How do you think it went?
Really well, I think. I just keep checking my email every five minutes.
I know that feeling. Fingers crossed for you!

> My favorite band's new album comes out tomorrow.
My favorite band drops their new album at midnight tonight.
Nice! Are you going to stay up for it?
Absolutely. I already have a snack plan.
Ha, that's commitment. Let me know if it's any good.

> We're finding out the gender of our baby next week.
Next week we finally find out if our baby is a boy or a girl.
Congratulations! Do you have a guess?
My wife says girl and I say boy. We have a bet going.
That's so fun. Either way, it's going to be a great week for you two.

> I'm counting down the days until my trip to Japan.
Only twelve more days until I leave for Japan!
Wow, is it your first time going?
Yes! I've wanted to go since I was a teenager.
You're going to love it. I went two years ago and the food alone was worth the trip.
That's what everyone says. I'm planning to eat my way through Osaka.

> My exam results are supposed to come out on Monday.
My exam grades are being posted on Monday and I can't think of anything else.
Waiting is the worst. Do you feel good about it?
Mostly. There was one essay question I'm not sure about.
I bet you did better than you think. Try to enjoy the weekend.

> My best friend is coming to visit after three years.
My best friend is flying in on Saturday and I haven't seen her in three years.
That's wonderful! What do you have planned?
A big dinner, a hike, and probably staying up way too late talking.

> I'm waiting for the season finale of my show.
The season finale of my favorite show airs on Sunday.
Oh, which show?
A detective series. They left us on a huge cliffhanger last week.
Those are the worst. Sunday can't come soon enough then!

> I'm expecting a package I ordered from overseas.
The tracking says my package from Korea arrives tomorrow.
Ooh, what did you order?
A keyboard I've been saving up for since the spring.
That's a long wait. I hope it arrives in perfect shape.

== anxious
> I have to give a presentation to the whole company tomorrow.
Tomorrow I'm presenting our quarterly results to the entire company.
That's a lot of pressure. How are you feeling?
My stomach is in knots. I've practiced it ten times and still feel unprepared.
Ten times is plenty. I used to get like that and it always went better than I feared.

> My mom is having heart surgery and I'm in the waiting room.
My mom is in surgery right now and I'm just sitting in the waiting room.
I'm so sorry. Is it a serious operation?
It's her heart, so yes. The doctors said it would take four hours.
Sending you strength. Is anyone there with you?
My aunt is on her way. That helps a little.

> My first day at a new school is on Monday.
I'm starting at a new high school on Monday and I don't know anyone.
That's a big change. What worries you most?
Lunch. I have no idea where I'm going to sit.
That's a really normal fear. Maybe look for a club to join the first week, it makes finding people easier.

> I can't stop worrying about money since my hours got cut.
My hours at work got cut in half and rent is due in two weeks.
That's so stressful. Do you have any savings to fall back on?
A little, but not enough for more than a month.
It might be worth talking to your landlord early. Some are more flexible than you'd expect.

> I have my driving test this afternoon.
My driving test is at three and my hands are already sweating.
You've got this! Have you practiced parallel parking?
That's the part I'm most nervous about. I failed it last time.
Just take it slow. The examiner cares more about safety than speed.

> I sent an important email to my boss with a typo in it.
I just noticed I sent my boss an email with her name spelled wrong.
Oh no! Has she responded yet?
Not yet, and I keep refreshing my inbox.
Honestly, she probably won't even notice. Everyone makes typos.

> I'm nervous about meeting my girlfriend's parents.
This weekend I'm meeting my girlfriend's parents for the first time.
That can be nerve-wracking. Do you know much about them?
Only that her dad is very serious and loves fishing.
Ask him about fishing then! People love talking about their hobbies.

> I have to wait days for a doctor to check a lump.
I found a small lump on my neck and my appointment isn't until Thursday.
That must be really worrying. Have you told anyone?
Just my husband. I don't want to scare my kids.

== apprehensive
> I'm not sure about moving across the country for my new job.
I accepted a job in Seattle, but now I'm second-guessing the move.
That's a big decision. What's making you hesitate?
I won't know anyone there, and my family is all here.
That's a real concern. Maybe the new job will help you build a circle quickly.

> I'm hesitant to go back to the dentist after a bad experience.
I need a filling, but I haven't been to a dentist since one hurt me badly years ago.
That's completely understandable. Are you going to a new dentist?
Yes, my friend recommended one who's supposed to be very gentle.
That's a good start. You can also tell them upfront that you're nervous.

> My friend wants me to go skydiving with her.
My best friend booked us a skydiving trip for her birthday.
Wow! Are you excited or nervous?
Mostly nervous. I don't even like tall ladders.
It's okay to tell her you'd rather watch. A good friend will understand.

> I'm unsure about lending my car to my cousin.
My cousin asked to borrow my car for a week and I don't know what to say.
Has he borrowed things from you before?
Yes, and last time he returned my bike with a flat tire.
Then I'd be hesitant too. Maybe offer to drive him instead.

> I start a new medication next week and I'm worried about side effects.
My doctor put me on a new medication and the list of side effects is really long.
That list always looks scary. Did the doctor say which ones are common?
She said most people only get mild headaches at first.
That's reassuring. Keep track of how you feel and call her if anything seems off.

> I agreed to host Thanksgiving for the first time.
I volunteered to host Thanksgiving this year and I've never cooked a turkey.
That's brave! How many people are coming?
Fourteen. What was I thinking?
You'll be fine. Lots of people order the turkey and just do the sides themselves.
That's actually a great idea. Thank you!
Good luck, I'm sure it'll be a hit.

> I have to talk to my roommate about the rent.
My roommate is two months behind on rent and I have to bring it up tonight.
That's such an uncomfortable conversation. How do you think she'll react?
I'm worried she'll get defensive and it'll make living together awkward.
That's fair. Keeping it calm and focusing on a plan might help.

> I'm thinking about signing up for a marathon.
I'm thinking about signing up for my first marathon, but I'm not sure I can do it.
How much running do you do now?
About ten miles a week. The marathon is in six months.

== ashamed
> I yelled at my kids after a long day at work.
I snapped at my kids last night over something tiny because I was exhausted.
We all have days like that. Did you talk to them afterwards?
I apologized at bedtime, but I still feel terrible about it.
Apologizing shows them how to handle mistakes. That's a good lesson too.

> I lied to my best friend about why I missed her party.
I told my best friend I was sick so I could skip her party, and she found out.
Oh no. How did she find out?
She saw me in someone's photo at a different event that night.
That's rough. Being honest with her now is probably the only way to fix it.

> I forgot my grandmother's birthday.
I completely forgot my grandmother's eightieth birthday yesterday.
Oh, I'm sorry. Have you called her?
I called this morning. She said it was fine, but I could hear she was hurt.
Maybe plan a visit with a small gift. I'm sure she'd love that.

> I failed a class I told my parents I was passing.
I told my parents I was doing fine in chemistry, but I failed the class.
That must be a heavy thing to carry. Are you going to tell them?
I have to. They'll see it on my transcript anyway.
It'll be hard, but they'll probably appreciate hearing it from you first.
I hope so. I'm going to tell them this weekend.

> I got caught cheating on a quiz in high school.
In high school I got caught copying someone's answers on a quiz.
That happens to a lot of people. What happened after?
I got a zero and had to call my dad from the principal's office.
That sounds mortifying. I think most of us have something like that from our teenage years.

> I was rude to a waiter when I was in a bad mood.
I was really short with our waiter yesterday just because I'd had a bad day.
It happens. Did you get a chance to make it up to him?
I left a big tip and apologized, but I keep thinking about it.

> I drank too much and embarrassed myself at the company party.
I had way too much to drink at the holiday party and danced on a table.
Oh no! Did anyone record it?
Thankfully no, but everyone at work has been giving me looks all week.
People forget faster than you think. Give it a couple of weeks.

> I didn't stand up for a classmate who was being bullied.
Back in middle school I watched a kid get picked on every day and never said anything.
That's a hard memory to carry. Do you ever think about reaching out to him?
I found him online last year and apologized. He was really kind about it.
That took courage. I think that says a lot about who you are now.

== caring
> My neighbor broke her leg so I've been walking her dog.
My elderly neighbor broke her leg, so I've been walking her dog twice a day.
That's so kind of you. How is she doing?
She's in good spirits. The dog is starting to like me more than her though!
Ha! That's sweet. She's lucky to have a neighbor like you.

> I stayed up all night with my sick son.
My son had a fever all night, so I sat with him and read stories until he fell asleep.
Poor little guy. Is he feeling better?
Much better this morning. He even asked for pancakes.
Pancakes are a great sign! I hope you got some rest too.

> I cooked meals for my friend who just had surgery.
My friend just got home from knee surgery, so I brought her a week's worth of meals.
That's so thoughtful. What did you make?
Lasagna, soup, and a lot of cookies.
She must have been so grateful. Food really is the best way to show love.

> I've been taking care of a stray cat that showed up on my porch.
A skinny stray cat showed up on my porch, so I've been feeding her every day.
Aww, that's lovely. Are you going to keep her?
I think so. I took her to the vet and she's healthy, just hungry.

> My husband had a rough week so I planned a surprise for him.
My husband had a terrible week at work, so I set up a movie night with all his favorite snacks.
That's so sweet! Did he like it?
He almost cried. He said it was exactly what he needed.
Little things like that mean so much. You two sound like a great team.

> I helped an older man carry his groceries home.
I saw an older man struggling with heavy grocery bags, so I carried them home for him.
That was really kind. Did he live far?
Just a few blocks. He told me all about his late wife on the way.
I bet that conversation meant a lot to him. Sometimes people just need someone to listen.

> I watched my friend's kids so she could have a night off.
My friend is a single mom, so I babysat her twins so she could go out for once.
That's really generous. How did it go with two kids?
Chaotic, but fun. We built a blanket fort and ate popcorn.
That sounds like the best night for them. I'm sure your friend appreciated it.

> I call my grandfather every day since he lives alone.
I call my grandfather every evening since he started living alone.
That's wonderful. Does he enjoy the calls?
He says he doesn't need them, but he always picks up on the first ring.
Ha! That says it all. He's lucky to have you.

== confident
> I studied hard and I know I'll pass my final exam.
I studied every day for three weeks, so I feel great about my final tomorrow.
That's the best feeling. What subject is it?
Statistics. It used to be my worst class.
Wow, that's a turnaround. You've earned that confidence.

> I'm sure I'll get the promotion this year.
I'm pretty sure I'm getting promoted this year.
That's great! What makes you so sure?
I led two big projects and my boss keeps hinting about it.
Sounds like it's well deserved. Let us know when it's official!

> I feel ready for my piano recital.
My piano recital is Saturday and for once I'm not nervous at all.
That's awesome. What are you playing?
A Chopin nocturne. I've played it so many times I could do it in my sleep.

> I know my team is going to win the championship.
Our soccer team hasn't lost a game all season, so I know we're taking the championship.
That's an impressive record! What position do you play?
I'm the goalkeeper. Only three goals against us all year.
That's incredible. Good luck in the final, not that you need it!

> I finally feel good about my cooking.
I'm hosting a dinner party this weekend and I'm confident I can pull it off.
Nice! What's on the menu?
Homemade pasta and a chocolate tart. I've practiced both a few times.
That sounds amazing. Practice really does make a difference.

> I believe I can finish my first novel by the end of the year.
I've written fifty thousand words so far and I'm sure I'll finish my novel by December.
That's impressive. What's it about?
A lighthouse keeper who finds a message in a bottle.
I love that idea. I'd read it!

> I'm confident in my new business plan.
I just finished my business plan for a bakery and I think it's solid.
Exciting! Have you shown it to anyone?
A friend who runs a cafe looked it over and said the numbers make sense.
That's a great sign. It sounds like you've done your homework.

> I know I nailed my audition.
I had an audition for the community theater today and I know I nailed it.
That's great! What role were you going for?
The lead in a comedy. The director laughed at every line.
That's a really good sign. I hope you get the call soon!

== content
> I spent a quiet Sunday reading in the park.
I spent all of Sunday reading under a tree in the park.
That sounds so peaceful. What were you reading?
An old mystery novel I found at a thrift store.
Perfect. Sometimes a simple day like that is all you need.

> I'm happy with my life right now.
I was sitting on my porch with coffee this morning and realized I'm really happy with where my life is.
That's a wonderful feeling. What do you think changed?
I stopped comparing myself to everyone online.
That's smart. It's easy to forget how much that affects us.

> I finally have a routine that works for me.
After months of chaos I finally have a morning routine I actually enjoy.
Nice! What does it look like?
A short walk, a good breakfast, and no phone until nine.

> We just moved into a small but cozy apartment.
We moved into a tiny apartment last month, but it feels more like home than anywhere we've lived.
That's lovely. What makes it feel that way?
Lots of sunlight and a little balcony where we eat dinner.
That sounds perfect. Space matters less than how it feels.

> I had a simple dinner with my family and everyone got along.
We had a simple spaghetti dinner tonight and nobody argued for once.
Ha, those nights are rare! Was it a special occasion?
Not at all. That's what made it so nice.
The ordinary nights are often the best ones.

> My garden is finally growing well.
My tomatoes are finally ripening and I just sat in the garden for an hour today.
There's nothing better than homegrown tomatoes. Is it your first garden?
Second. Last year everything died, so this feels great.
That's so satisfying. Enjoy every one of them.

> I'm happy with my job even though it doesn't pay much.
My job doesn't pay a lot, but I really love the people I work with.
That counts for a lot. What do you do?
I work at a small library. It's quiet and everyone is kind.
That sounds like a dream to me. Happiness at work is hard to find.

> I went for a long walk at sunset.
I took a long walk by the lake at sunset and just felt at peace.
That sounds beautiful. Do you walk there often?
Whenever I can. It clears my head better than anything else.

== devastated
> My dog of fourteen years passed away.
We had to put my dog down yesterday. He was fourteen and I'd had him since I was a kid.
I'm so sorry. Losing a pet is like losing a family member.
The house is so quiet. I keep expecting him to be at the door.
That's the hardest part. Take all the time you need to grieve him.

> I didn't get into any of the colleges I applied to.
I got my last rejection letter today. I didn't get into a single college.
Oh no, that's heartbreaking. How many did you apply to?
Six. I worked so hard for four years.
I'm so sorry. Community college could still get you to a great school later. A lot of people take that route.

> My fiance called off our wedding.
My fiance called off our wedding two months before the date.
I'm so sorry. Did he tell you why?
He said he just doesn't feel the same anymore. I had no idea.
That must feel like the ground disappeared under you. Do you have people around you?
My sister is staying with me this week.
I'm glad you're not alone. Be gentle with yourself.

> Our house flooded and we lost almost everything.
The river flooded last week and our whole first floor was ruined.
That's devastating. Is your family safe?
Everyone is okay, but all our photo albums were in the basement.
I'm so sorry. Losing those memories must hurt more than anything else.

> My best friend moved away without saying goodbye.
My best friend moved to another state and didn't even say goodbye.
That really hurts. Do you know why she didn't tell you?
She texted that it was too hard to say it in person.
I can see why you're crushed. Maybe in time you two can talk about it.

> My grandmother passed away last night.
My grandmother passed away last night. She raised me.
I'm so deeply sorry. She must have meant the world to you.

> I lost my job right after we bought a house.
Two weeks after we closed on our first house, I got laid off.
That's awful timing. How are you holding up?
Not well. I keep doing the math on the mortgage at night.
I'm sorry. I hope something comes through soon. Lean on your family while you figure it out.

> My team lost the championship in the last second.
We lost the state final on a shot at the buzzer. It was my senior year.
Oh man, that's brutal. I'm so sorry.
I can't stop replaying it. I was the one guarding him.
That's so hard, but one shot doesn't define your whole season.

== disappointed
> My favorite restaurant closed down.
I went to my favorite Thai place tonight and it had closed for good.
Oh no, that's such a letdown. Had you been going there long?
Almost ten years. It was where we went for every birthday.
That's sad. It's like losing a little piece of your history.

> My friends canceled our trip at the last minute.
My friends canceled our beach trip the night before we were supposed to leave.
That's so disappointing. Did they say why?
One of them had to work and the others didn't want to go without her.
I'm sorry. Could you still do a day trip on your own?

> I didn't get the part in the school play.
I auditioned for the lead in the school play and didn't even get a speaking role.
Aw, I'm sorry. You must have worked hard on that audition.
I practiced for weeks. I'm just in the chorus now.
The chorus can still be a lot of fun. And there's always next year.

> The concert I waited months for was canceled.
The concert I bought tickets for back in January just got canceled.
Ugh, that's such a bummer. Will they reschedule?
No date yet. They're only offering refunds.

> My son didn't call me on Mother's Day.
My son didn't call me on Mother's Day this year.
I'm sorry, that must have stung. Is he usually good about calling?
He used to be. He's been so busy since he started his new job.
Maybe let him know it hurt. He may not realize how much it meant to you.

> The new phone I ordered arrived broken.
I waited three weeks for my new phone and the screen was cracked when it arrived.
That's so frustrating. Are they sending a replacement?
Yes, but it'll take another two weeks.
What a letdown. At least you'll get a working one eventually.

> I got a lower grade than I expected on my essay.
I got a C on the essay I was so proud of.
Oh, that's disappointing. Did the teacher leave comments?
She said my argument wasn't clear enough.
That's useful to know at least. Maybe ask her to go over it with you.

> My brother missed my graduation.
My brother promised to come to my graduation, but he never showed up.
That's really hurtful. Did he explain?
He said his car broke down, but he didn't text until that night.
I can see why you're upset. A text would have been the least he could do.

== disgusted
> I found a hair in my salad at a restaurant.
I was halfway through my salad at lunch when I found a long hair in it.
Ew, that's so gross. Did you tell the waiter?
Yes, they took it off the bill, but I couldn't eat anything else.
I wouldn't have been able to either. That ruins your appetite for the day.

> My roommate left dirty dishes in the sink for a week.
My roommate left his dishes in the sink so long that there's mold growing on them.
That's disgusting. How do you live with that?
I don't. I'm making him clean it tonight or I'm throwing them out.
Good. Nobody should have to deal with that smell.

> Someone on the bus sneezed right on me.
A guy on the bus sneezed directly onto my arm and didn't even say sorry.
Gross! I'd want to take a shower immediately.
I scrubbed my arm for five minutes when I got home.

> Something went bad in the office fridge.
Someone left fish in the office fridge over the long weekend.
Oh no. I can almost smell it from here.
The whole kitchen reeked. People were gagging.
That's awful. Hopefully someone will finally start cleaning it out every Friday.

> I saw a man spit on the floor of a grocery store.
I watched a man spit right on the floor of the produce section today.
That's nasty. Did anyone say something?
An employee did, and he just shrugged and walked off.
Some people have no respect. I'm glad the employee called him out.

> I found a cockroach in my hotel room.
We checked into our hotel and there was a cockroach on the pillow.
Ugh! Did you ask for another room?
We switched hotels entirely. I couldn't stay there.
I don't blame you at all. I'd be checking my luggage for days.

> My coworker clips his nails at his desk.
My coworker clips his fingernails at his desk every Monday morning.
Ew, that's so unsanitary. Where do the clippings go?
Everywhere. I found one on my keyboard once.
That's revolting. I would talk to HR about that one.

> I watched a documentary about how fast food is made.
I watched a documentary about how some fast food burgers are made and I feel sick.
Oh no, I've seen those. Are you giving it up?
After what I saw, definitely. I'm cooking at home from now on.

== embarrassed
> I waved back at someone who was waving at the person behind me.
A woman waved at me across the street so I waved back, but she was waving at someone behind me.
Ha! That's happened to me too. Did she notice?
She did, and she gave me the most confused look.
I would have pretended to stretch my arm. Classic move.

> I tripped going up the stairs in front of my whole class.
I tripped on the stairs on the way to give my presentation in front of the whole class.
Oh no! Were you hurt?
Only my pride. Everyone laughed.
That's so awkward, but I bet no one remembers it now.

> I called my teacher mom by accident.
I accidentally called my teacher "mom" in front of everyone today.
Haha, everyone has done that at least once!
I'm thirty and she's my night class instructor.
Okay, that's a little more embarrassing, but it's still funny. I'm sure she took it well.
She laughed, so I guess it could have been worse.

> My stomach growled loudly during a quiet meeting.
My stomach growled so loudly during a silent moment in our meeting that everyone looked at me.
Ha! Did you skip breakfast?
Yep. My boss asked if I wanted half his sandwich.
That's actually really nice of him. At least everyone was good-natured about it.

> I sent a text about my friend to that same friend by mistake.
I sent a text complaining about my friend's cooking to her instead of my husband.
Oh no! What did she say?
She said "noted" and nothing else. I wanted to disappear.
Yikes. Maybe call her and laugh about it? Honesty might smooth it over.

> I had spinach in my teeth during a job interview.
I found out after my job interview that I had spinach in my teeth the whole time.
Oh no. Do you think they noticed?
The interviewer kept glancing at my mouth, so probably.

> I walked into the wrong bathroom at a restaurant.
I walked into the men's bathroom at a restaurant by accident tonight.
Haha, oops! Was anyone in there?
An older man who was very polite about it. I ran out so fast.
Honestly, the signs in some places are so confusing. It's an easy mistake.

> My phone rang loudly at a funeral.
My phone went off during a funeral and my ringtone is a cartoon theme song.
Oh no. That's a nightmare. What did you do?
I fumbled to silence it and apologized to the family afterward.
I'm sure they understood. These things happen to everyone.

== excited
> I'm going to see my favorite band live next week.
I just got tickets to see my favorite band next Friday!
No way! Which band?
The same one I've loved since middle school. I've wanted to see them for years.
That's awesome. Their live shows are supposed to be amazing.

> I got accepted into my dream graduate program.
I just got an email saying I've been accepted into my dream graduate program!
Congratulations! That's huge. What program?
Marine biology in California. I'll get to study whales!
That's so cool. You must be over the moon.

> We're adopting a puppy this weekend.
We pick up our new puppy on Saturday!
Yay! What kind of puppy?
A golden retriever mix. We're naming her Maple.
Maple is the perfect name. Enjoy all the puppy cuddles!

> I'm going to Disney World for the first time.
I'm finally going to Disney World next month and I'm thirty-two years old.
Ha, there's no age limit on fun! What are you most excited for?
The fireworks. I've seen videos of them a hundred times.

> My sister is having a baby and I'm going to be an aunt.
My sister just told me she's pregnant. I'm going to be an aunt!
Congratulations! Is this her first?
Yes! I've already started knitting a blanket.
That's adorable. That baby is going to be so loved.

> I'm opening my own business next month.
I'm officially opening my own coffee shop next month!
That's amazing! Where is it going to be?
Right downtown, next to the library.
Perfect spot. I'd stop by every morning if I lived there.
You'd get the first latte free!
Deal. Best of luck with the opening.

> I won tickets to a basketball game.
I won courtside tickets to a basketball game from a radio contest!
Courtside? That's incredible! Who are you taking?
My dad. He's been a fan since the eighties.
He's going to love that. What a great memory for both of you.

> My favorite author is releasing a new book.
My favorite author just announced a sequel to my favorite book, and it comes out in the spring!
Oh nice, I love that feeling. It gives you something to look forward to.
